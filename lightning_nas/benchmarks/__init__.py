"""Benchmarks: read-only tabular oracles, ``query(arch) -> metric``. A new space's benchmark registers itself here."""

from __future__ import annotations

import os

from lightning_nas.benchmarks.base import EMBEDDED_DATA, Benchmark, Table, data_roots
from lightning_nas.benchmarks.budget import QueryBudget
from lightning_nas.benchmarks.darts import DartsBenchmark
from lightning_nas.benchmarks.nb101 import NB101Benchmark
from lightning_nas.benchmarks.nb201 import NATSSizeBenchmark, NB201Benchmark
from lightning_nas.utils.registry import lookup

BENCHMARKS: dict[str, type[Benchmark]] = {}


def register_benchmark(benchmark: type[Benchmark]) -> type[Benchmark]:
    """Make ``benchmark`` the one ``create(<its space's name>)`` builds (usable as a class decorator)."""
    BENCHMARKS[benchmark.space.name] = benchmark
    return benchmark


for _benchmark in (NB101Benchmark, NB201Benchmark, NATSSizeBenchmark, DartsBenchmark):
    register_benchmark(_benchmark)


def create(space: str, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None, progress: bool = False, partial: bool = False) -> Benchmark:
    """The benchmark of ``space`` (``nb101``, ``nb201``, ``nats_sss``, ``darts``: NAS-Bench-301's published cells), like ``nats_bench.create``.

    Data is found from ``source`` (a file, archive or folder), else in ``root``, else in
    ``$LIGHTNING_NAS_DATA``, ``./data`` and the compact tables embedded in the package, an official
    file (NB101 tfrecord, NATS archive) first wherever it is; the first load builds a cache, later
    loads read it. A file with fewer archs than the benchmark is an error unless ``partial=True``."""
    extra = {"partial": True} if partial else {}  # a benchmark registered by a user need not take the setting
    return lookup(BENCHMARKS, space, "benchmark space")(root=root, source=source, progress=progress, **extra)


__all__ = ["BENCHMARKS", "EMBEDDED_DATA", "Benchmark", "DartsBenchmark", "NATSSizeBenchmark", "NB101Benchmark", "NB201Benchmark", "QueryBudget", "Table", "create", "data_roots", "register_benchmark"]

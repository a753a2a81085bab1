"""A tabular benchmark on the DARTS space: the NAS-Bench-301 cells NASLib published with their
CIFAR-10 validation accuracy (``naslib_zc_nb301_subset.csv.gz``: 1,218 cells, see its README).

NAS-Bench-301 is a surrogate: ``cifar10/val_acc@100`` is its prediction of the validation accuracy
of the cell's evaluation network after 100 epochs, as NASLib's API returned it. ``params`` and
``flops`` are NASLib's counts for NB301's network (our networks have exactly these parameter
counts). A cell published twice (7, once per run) holds the mean of its two values. The file is not
shipped with the package: give the folder it is in (``root``, ``LIGHTNING_NAS_DATA``) or the file
(``source``).

``create("darts")`` builds it. Its ``space`` is the DARTS space restricted to the table's cells
(:class:`~lightning_nas.spaces.table_space.TableSpace`): a search samples, mutates and spells archs
among the 1,218, whose labels exist; any DARTS genotype still validates for a predictor or a proxy.
"""

from __future__ import annotations

import csv
import gzip
import os
from pathlib import Path

import numpy as np

from lightning_nas.benchmarks.base import Benchmark, Table, data_roots, find_data, load_or_build, no_data_error
from lightning_nas.spaces.darts import DartsGenotype, DartsSpace
from lightning_nas.spaces.table_space import TableSpace
from lightning_nas.utils.errors import BenchmarkFileError, InvalidArchitecture, InvalidArgument

SUBSET = "naslib_zc_nb301_subset.csv.gz"
#: where a data folder holds it: in zc/ beside NASLib's other published scores, in nb301/, or at its top
PLACES = (f"zc/{SUBSET}", f"nb301/{SUBSET}", SUBSET)


class DartsBenchmark(Benchmark):
    """NAS-Bench-301's published subset: 1,218 DARTS cells, CIFAR-10 validation accuracy (no test accuracy)."""

    space: TableSpace[DartsGenotype] | DartsSpace = DartsSpace()  # the whole space names it; an instance searches its table's
    datasets = ("cifar10",)
    default_epochs = 100

    def __init__(self, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None, progress: bool = False, partial: bool = False) -> None:
        if partial:
            raise InvalidArgument("the NAS-Bench-301 subset is a table of its own: partial does not apply")
        sources = self.find_sources(root, source)
        super().__init__(load_or_build("nb301-subset-v1", sources, lambda: table_from_subset(sources[0], DartsSpace())))
        self.space = TableSpace(DartsSpace(), self.keys.tolist())

    def _arch(self, index: int) -> object:
        return self.space.validate(str(self.keys[index]))

    @classmethod
    def find_sources(cls, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None) -> list[Path]:
        if source is not None:
            if not Path(source).is_file():
                raise BenchmarkFileError(f"NB301 source {source}: no such file (expected {SUBSET})")
            return [Path(source)]
        roots = data_roots(root)
        path = find_data(roots, *PLACES)
        if path is None:
            raise no_data_error("NAS-Bench-301 (DARTS space; not shipped with the package)", roots, list(PLACES))
        return [path]


def table_from_subset(path: Path, space: DartsSpace) -> Table:
    """One row per distinct cell of the published subset; a line that is not a valid cell is an error naming it."""
    try:
        with gzip.open(path, "rt", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, EOFError, csv.Error) as exc:
        raise BenchmarkFileError(f"{path}: not the gzip CSV of the NAS-Bench-301 subset ({exc})") from None
    needed = {"normal", "reduce", "val_accuracy", "params", "flops"}
    if not rows or not needed <= set(rows[0]):
        raise BenchmarkFileError(f"{path}: expected the columns {sorted(needed)} (see its README)")
    values: dict[str, list[tuple[float, float, float]]] = {}
    archs = {}
    for line, row in enumerate(rows, start=2):
        try:
            arch = space.validate(f"normal:{row['normal']}|reduce:{row['reduce']}")
            numbers = (float(row["val_accuracy"]), float(row["params"]) * 1e6, float(row["flops"]) * 1e6)
        except (InvalidArchitecture, ValueError) as exc:
            raise BenchmarkFileError(f"{path}, line {line}: {exc}") from None
        if not all(np.isfinite(numbers)) or not 0 < numbers[0] <= 100:
            raise BenchmarkFileError(f"{path}, line {line}: val_accuracy {row['val_accuracy']!r}, params {row['params']!r}, flops {row['flops']!r} are not a trained cell's")
        key = space.key(arch)
        archs[key] = arch
        values.setdefault(key, []).append(numbers)
    keys = sorted(values)
    mean = np.array([np.mean(values[k], axis=0) for k in keys])
    columns = {"cifar10/val_acc@100": mean[:, 0], "cifar10/params": np.round(mean[:, 1]).astype(np.int64), "cifar10/flops": np.round(mean[:, 2]).astype(np.int64)}
    repeated = sum(len(v) > 1 for v in values.values())
    notes = [f"NAS-Bench-301's surrogate prediction of the 100-epoch validation accuracy; {repeated} cells published twice hold the mean of both"]
    return Table(np.array(keys), space.to_structure([archs[k] for k in keys]), columns, {"source_kind": "NASLib's published NB301 subset", "notes": notes})

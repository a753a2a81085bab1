"""Parameter counts of the real NB101 networks against the benchmark, for every cell.

    python perf/network_params.py [--archs N] [--workers W] [--verify 200]

NAS-Bench-101's ``trainable_parameters`` is checked against ``nasbench_pytorch`` modules for all
423,624 cells. Building a whole network costs ~90 ms here (~55 ms on the meta device, most of it
``Network._initialize_weights``), i.e. ~10 CPU-hours for the space. A network is its stem, nine
``nasbench_pytorch`` ``Cell`` modules and a classifier, and only the cells depend on the arch; the
nine cells come in five (in, out) channel pairs. So each arch builds those five real ``Cell``
modules on the meta device (~9 ms) and adds the stem and classifier counted once from a real
network. ``--verify`` first checks that decomposition against whole networks from
:func:`lightning_nas.proxies.build_network` (the builder proxies use) on a random sample.
Prints JSON lines; mismatching benchmark rows, if any, are listed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from collections import Counter

import numpy as np
import torch
from nasbench_pytorch.model.model import Cell
from nasbench_pytorch.model.model_spec import ModelSpec

from lightning_nas.benchmarks import create
from lightning_nas.utils.progress import progress_bar
from lightning_nas.proxies import build_network, count_parameters
from lightning_nas.spaces.nb101 import drop_placeholders
from lightning_nas.spaces.nb101 import NB101Arch


def network_layout(arch: NB101Arch) -> tuple[Counter, int]:
    """(in, out) channels of the nine cells of a real network, with multiplicity, and the
    parameters outside the cells (stem + classifier), which no arch changes."""
    network = build_network("nb101", arch)
    cells = [m for m in network.modules() if isinstance(m, Cell)]
    pairs = Counter((c.vertex_channels[0], c.vertex_channels[-1]) for c in cells)
    return pairs, count_parameters(network) - sum(count_parameters(c) for c in cells)


def parameters_from_cells(arch: NB101Arch, pairs: Counter, outside_cells: int) -> int:
    """The whole network's count: real cells built on the meta device, plus the rest."""
    spec = ModelSpec(arch.matrix.astype(int), list(arch.ops))  # on CPU: it calls .numpy()
    with torch.device("meta"):
        cells = {pair: drop_placeholders(Cell(spec, *pair)) for pair in pairs}
    return outside_cells + sum(k * count_parameters(cells[pair]) for pair, k in pairs.items())


_worker: dict = {}


def _start_worker(pairs: Counter, outside_cells: int) -> None:
    torch.set_num_threads(1)
    bench = create("nb101")
    _worker.update(bench=bench, params=bench.column("params"), pairs=pairs, outside_cells=outside_cells)


def _check_chunk(bounds: tuple[int, int]) -> list[int]:
    """Benchmark rows in [start, stop) whose count differs."""
    bench, params, pairs, outside_cells = (_worker[k] for k in ("bench", "params", "pairs", "outside_cells"))
    return [i for i in range(*bounds) if parameters_from_cells(bench.arch(i), pairs, outside_cells) != params[i]]


def emit(figure: str, value: float, units: str, **extra) -> None:
    print(json.dumps({"figure": figure, "value": value, "units": units, **extra}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=None, help="check the first N rows (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--verify", type=int, default=200, help="whole networks that check the cell decomposition")
    args = parser.parse_args()

    bench = create("nb101")
    n = len(bench) if args.archs is None else min(args.archs, len(bench))
    pairs, outside_cells = network_layout(bench.arch(0))

    start = time.perf_counter()
    sample = np.random.default_rng(0).choice(len(bench), args.verify, replace=False)
    archs = {int(i): bench.arch(int(i)) for i in sample}
    disagree = [i for i, arch in archs.items()
                if count_parameters(build_network("nb101", arch)) != parameters_from_cells(arch, pairs, outside_cells)]
    emit("nb101_cell_decomposition_disagreements", len(disagree), "archs", checked=args.verify,
         seconds=round(time.perf_counter() - start, 1), rows=disagree[:10])

    start = time.perf_counter()
    edges = np.linspace(0, n, max(1, n // 2000) + 1).astype(int).tolist()
    chunks = list(zip(edges[:-1], edges[1:]))
    mismatches: list[int] = []
    context = multiprocessing.get_context("spawn")
    with (context.Pool(args.workers, _start_worker, (pairs, outside_cells)) as pool,
          progress_bar("checking NB101 parameter counts", n) as advance):
        for (lo, hi), rows in zip(chunks, pool.imap(_check_chunk, chunks)):
            mismatches += rows
            advance(hi - lo)
    emit("nb101_costs_param_mismatches", len(mismatches), "archs", checked=n, workers=args.workers,
         seconds=round(time.perf_counter() - start, 1), rows=mismatches[:10], target=0)


if __name__ == "__main__":
    main()

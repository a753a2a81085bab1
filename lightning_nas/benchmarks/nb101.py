"""NAS-Bench-101 as a tabular oracle, from the official tfrecord or the compact ``.npz`` table.

Two sources, one cache format (:mod:`lightning_nas.utils.cache`):

* the official ``nasbench_only108.tfrecord`` (or ``nasbench_full.tfrecord``), read without
  TensorFlow: per epoch budget the mean over the 3 runs (``train_acc``, ``val_acc``,
  ``test_acc``, ``train_time``) and every run (``test_acc_run0`` ... ``_run2``), plus ``params``,
  and ``flops`` computed from each cell exactly as the compact table counts them;
* the compact ``nb101_full_space.npz`` (every cell: ``test_acc_run0`` = **one** training run's
  test accuracy, ``params``, ``flops``), or a table of some of its rows in the same format (e.g.
  ``nb101_sample2000.npz``), joined by module hash with ``nb101_subset30k_val_by_epoch.npz`` when
  it sits beside it (``val_acc_single_run`` at 4/12/36/108 epochs and ``train_time_single_run``
  for the 30,001 cells it holds; NaN elsewhere). The compact table has no mean-of-3 accuracy, so
  ``test_acc`` is absent there on purpose: ask for ``test_acc_run0`` and know it is a single,
  noisier run.

Rows are in ``module_hash`` order (the tfrecord's record order); accuracies are percent.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import zipfile
from array import array
from pathlib import Path

import numpy as np

from lightning_nas.benchmarks.base import EMBEDDED_DATA, Benchmark, Table, column_name, data_roots, find_data, load_or_build, no_data_error
from lightning_nas.benchmarks.checks import PARTIAL_HINT, require_count, require_sane_columns, require_unique, require_valid_structure
from lightning_nas.benchmarks.tfrecord import ModelMetrics, read_records
from lightning_nas.utils.errors import BenchmarkFileError, require_npz
from lightning_nas.utils.progress import progress_bar
from lightning_nas.spaces.nb101 import MAX_VERTICES, OP_IDS, NB101Arch, NB101Space
from lightning_nas.spaces.nb101_costs import to_output_last, total_flops

TFRECORD_NAMES = ("nasbench_only108.tfrecord", "nasbench_full.tfrecord")
FULL_SPACE_NPZ = "nb101_full_space.npz"
SUBSET_NPZ = "nb101_subset30k_val_by_epoch.npz"
DATASET = "cifar10"
NUM_RUNS = 3
#: Cells of the NAS-Bench-101 space (every cell of at most 7 vertices and 9 edges, up to isomorphism).
NUM_CELLS = 423_624
#: sha256 of the embedded compact table, whose 423,624 module hashes were each recomputed from their matrix and
#: ops and found equal (perf/load.py, nb101_hash_mismatches): a table with this content is not rehashed at load.
VERIFIED_FULL_SPACE_SHA256 = "98245b0ba87bbb2f95088c49eb9e613ecc725af6286222d9a38beb8ade714836"


class NB101Benchmark(Benchmark):
    """NAS-Bench-101 (CIFAR-10, 423,624 cells).

    ``source`` may point at a tfrecord or at ``nb101_full_space.npz``; otherwise
    ``<root>/nb101/`` is searched, preferring the official tfrecord. A file with fewer cells than the
    benchmark (or, in a tfrecord, fewer than its 3 runs of a cell at an epoch budget) is an error unless
    ``partial=True`` asks for a partial table.
    """

    space = NB101Space()
    datasets = (DATASET,)
    default_epochs = 108

    def __init__(self, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None, progress: bool = False, partial: bool = False) -> None:
        sources = self.find_sources(root, source)
        if sources[0].suffix == ".tfrecord":
            # v3: checked against the benchmark (counts, runs, ranges, hashes) when built; earlier caches were not
            table = load_or_build("nb101-tfrecord-v3", sources, functools.partial(table_from_tfrecord, sources[0], progress, partial))
        else:
            table = load_or_build("nb101-npz-v2", sources, functools.partial(table_from_npz, *sources, progress=progress))
        require_count(sources[0], len(table), NUM_CELLS, "cells", partial)  # a cached table too: it may have been built as a partial one
        super().__init__(table)

    def _arch(self, index: int) -> NB101Arch:
        return self.space.from_arrays(self.structure["adjacency"][index], self.structure["ops"][index])

    @classmethod
    def find_sources(cls, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None) -> list[Path]:
        """The files to build the table from: a tfrecord, or the full-space npz (+ 30k subset beside it).
        ``source`` is one of those files or the folder that holds them; else they are looked up in the
        ``nb101/`` folder of each :func:`~lightning_nas.benchmarks.base.data_roots`, an official tfrecord first."""
        if source is not None and not Path(source).is_dir():
            path = Path(source)
            if not path.is_file():
                raise BenchmarkFileError(f"NB101 source {path} does not exist")
            if path.suffix not in (".tfrecord", ".npz"):
                raise BenchmarkFileError(f"NB101 source {path} is neither an official .tfrecord nor the compact {FULL_SPACE_NPZ}; see docs/data.md")
        else:
            roots = [Path(source)] if source is not None else [r / "nb101" for r in data_roots(root)]
            path = find_data(roots, *TFRECORD_NAMES, FULL_SPACE_NPZ)
            if path is None:
                raise no_data_error("NAS-Bench-101", roots, [*TFRECORD_NAMES, FULL_SPACE_NPZ])
        subset = path.with_name(SUBSET_NPZ)
        return [path, subset] if path.suffix == ".npz" and subset.is_file() else [path]


def _load_npz(path: Path, required: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Load ``required`` fields, checking presence and trailing shapes."""
    require_npz(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = sorted(set(required) - set(npz.files))
            if missing:
                raise BenchmarkFileError(f"{path}: missing field(s) {missing}; has {sorted(npz.files)}")
            arrays = {k: npz[k] for k in required}
    except BenchmarkFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise BenchmarkFileError(f"{path}: not a readable .npz ({exc}); is the file truncated?") from exc
    n = len(next(iter(arrays.values())))
    for k, tail in required.items():
        if len(arrays[k]) != n or arrays[k].shape[1:] != tail:
            raise BenchmarkFileError(f"{path}: field {k!r} has shape {arrays[k].shape}, expected ({n}, *{tail})")
        if k != "module_hash" and arrays[k].dtype.kind not in "biuf":
            raise BenchmarkFileError(f"{path}: field {k!r} is not numeric (dtype {arrays[k].dtype})")
    return arrays


def table_from_npz(path: Path, subset_path: Path | None = None, progress: bool = False) -> Table:
    full = _load_npz(
        path,
        {"module_hash": (), "adjacency": (MAX_VERTICES, MAX_VERTICES), "ops": (MAX_VERTICES,), "params": (), "test_acc_run0": (), "flops_thop": ()},
    )
    keys = full["module_hash"].astype(str)
    n = len(keys)
    require_cells(path, keys, {"adjacency": full["adjacency"], "ops": full["ops"]}, progress, rehash=_sha256(path) != VERIFIED_FULL_SPACE_SHA256)
    columns = {
        column_name(DATASET, "test_acc_run0", 108): full["test_acc_run0"].astype(np.float32) * np.float32(100),
        column_name(DATASET, "params"): full["params"].astype(np.int64),
        column_name(DATASET, "flops"): full["flops_thop"].astype(np.int64),
    }
    notes = [
        "test_acc_run0: CIFAR-10 test accuracy of ONE training run (run 0 of 3), not the mean of 3",
        "flops: multiply-accumulates counted by thop on a PyTorch re-implementation (input 1x3x32x32)",
    ]
    if subset_path is not None:
        sub = _load_npz(subset_path, {"module_hash": (), "val_acc_e4": (), "val_acc_e12": (), "val_acc_e36": (), "val_acc_e108": (), "train_time_e108": ()})
        # by module hash, not by the subset's `index` (a row of the full-space file): a smaller table has other rows
        row_of = {key: row for row, key in enumerate(keys.tolist())}
        rows = np.array([row_of.get(key, -1) for key in sub["module_hash"].astype(str).tolist()], dtype=np.int64)
        found = rows >= 0
        rows = rows[found]
        if not found.any():
            raise BenchmarkFileError(f"{subset_path}: none of its {len(found):,} cells is in {path}; move it away to load {path.name} alone")
        for epochs in (4, 12, 36, 108):
            col = np.full(n, np.nan, dtype=np.float32)
            col[rows] = sub[f"val_acc_e{epochs}"][found] * np.float32(100)
            columns[column_name(DATASET, "val_acc_single_run", epochs)] = col
        col = np.full(n, np.nan, dtype=np.float32)
        col[rows] = sub["train_time_e108"][found]
        columns[column_name(DATASET, "train_time_single_run", 108)] = col
        notes.append(f"val_acc_single_run / train_time_single_run: one training run, {len(rows):,} cells only (NaN elsewhere)")
    structure = {"adjacency": full["adjacency"].astype(np.uint8), "ops": full["ops"].astype(np.int8)}
    require_sane_columns(path, columns, keys, may_be_missing=lambda name: "single_run" in name)  # the 30k subset's columns
    return Table(keys, structure, columns, {"source_kind": "compact npz", "notes": notes})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require_cells(source: Path, keys: np.ndarray, structure: dict[str, np.ndarray], progress: bool, rehash: bool = True) -> None:
    """Each cell once, a valid pruned cell, and (``rehash``) keyed by the module hash of its own matrix and ops:
    a key beside another cell's structure would answer every query about one arch with another's record."""
    require_unique(source, keys)
    for reason, rows in NB101Space().structure_problems(structure).items():
        require_valid_structure(source, rows, keys, reason)
    if not rehash:
        return
    space = NB101Space()
    adjacency, ops = structure["adjacency"], structure["ops"]
    todo = _unverified_rows(keys, adjacency, ops)
    with progress_bar(f"checking the module hash of each of {len(todo):,} cells in {source.name} (once)", total=len(todo), enabled=progress) as advance:
        for done, row in enumerate(todo.tolist()):
            key = str(keys[row])
            found = space.key(space.from_arrays(adjacency[row], ops[row]))
            if found != key:
                raise BenchmarkFileError(f"{source}: cell {key!r} (row {row}) has the matrix and ops of another cell (they hash to {found!r})")
            if done % 10_000 == 9_999:
                advance(10_000)


def _unverified_rows(keys: np.ndarray, adjacency: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """Rows whose key, matrix and ops are not exactly a cell of the embedded, verified compact table: only those
    need their module hash recomputed (an official tfrecord's cells all match, so its first read skips ~45 s)."""
    verified = EMBEDDED_DATA / "nb101" / FULL_SPACE_NPZ
    if not verified.is_file() or _sha256(verified) != VERIFIED_FULL_SPACE_SHA256:
        return np.arange(len(keys))
    with np.load(verified, allow_pickle=False) as npz:
        known_keys, known_adjacency, known_ops = npz["module_hash"].astype(str), npz["adjacency"], npz["ops"]
    at = np.minimum(np.searchsorted(known_keys, keys), len(known_keys) - 1)  # the verified table is sorted by key
    same = (known_keys[at] == keys) & (known_adjacency[at] == adjacency).all((1, 2)) & (known_ops[at] == ops).all(1)
    return np.flatnonzero(~same)


def table_from_tfrecord(path: Path, progress: bool = False, partial: bool = False) -> Table:
    """Parse every record of an official NAS-Bench-101 tfrecord into a table. Each record's
    numbers go into flat typed arrays as it is read, not Python objects (about 200 bytes per
    record), so reading ``nasbench_full``'s 5 million records peaks near the finished table's size.
    Every cell must have its 3 runs at every epoch budget of the file (fewer only when ``partial``)."""
    cells: dict[str, int] = {}  # module hash -> cell number, in the order first met
    adjacency, ops, params = [], [], []  # per cell
    record_cell, record_epochs = array("q"), array("q")
    record_values = array("d")  # per record, at the end of training: train, val, test accuracy, training time
    with progress_bar(f"reading {path.name}", total=path.stat().st_size, enabled=progress) as advance:
        for i, data in enumerate(read_records(path, on_bytes=advance)):
            try:
                module_hash, epochs, raw_adjacency, raw_ops, raw_metrics = json.loads(data)
                metrics = ModelMetrics.FromString(base64.b64decode(raw_metrics))
                final = metrics.evaluation_data[2]  # [0] at init, [1] halfway, [2] end of training
                cell = cells.get(module_hash)
                if cell is None:
                    a, o = _pad_cell(raw_adjacency, raw_ops)
                    cell = cells[module_hash] = len(cells)
                    adjacency.append(a)
                    ops.append(o)
                    params.append(metrics.trainable_parameters)
                record_epochs.append(int(epochs))
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                raise BenchmarkFileError(f"{path}: record {i} is not a NAS-Bench-101 row ({exc!r})") from exc
            record_cell.append(cell)
            record_values.extend((final.train_accuracy, final.validation_accuracy, final.test_accuracy, final.training_time))
    if not cells:
        raise BenchmarkFileError(f"{path}: no records")
    hashes = np.array(list(cells))
    order = np.argsort(hashes)  # cell numbers in module-hash order
    keys = hashes[order]
    n = len(keys)
    row_of_cell = np.empty(n, dtype=np.int64)
    row_of_cell[order] = np.arange(n)
    rows, epochs = row_of_cell[np.frombuffer(record_cell, dtype=np.int64)], np.frombuffer(record_epochs, dtype=np.int64)
    values = np.frombuffer(record_values).reshape(-1, 4) * [100, 100, 100, 1]  # accuracies in percent
    # each record's run number: its place among its cell's records of the same budget, in file order
    by = np.lexsort((np.arange(len(rows)), rows, epochs))
    rows, epochs, values = rows[by], epochs[by], values[by]
    first = np.r_[True, (np.diff(rows) != 0) | (np.diff(epochs) != 0)]
    run = np.arange(len(rows)) - np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
    columns: dict[str, np.ndarray] = {column_name(DATASET, "params"): np.array(params, dtype=np.int64)[order]}
    for budget in np.unique(epochs).tolist():
        runs = np.bincount(rows[epochs == budget], minlength=n)
        odd = np.flatnonzero((runs > NUM_RUNS) | ((runs < NUM_RUNS) & (not partial)))
        if len(odd):
            cell = int(odd[0])
            raise BenchmarkFileError(
                f"{path}: cell {str(keys[cell])!r} has {runs[cell]} runs at {budget} epochs, the benchmark has {NUM_RUNS} "
                f"({len(odd):,} cells so): the file is cut short or not the benchmark's" + ("" if runs[cell] > NUM_RUNS else f"; {PARTIAL_HINT}")
            )
        kept = epochs == budget
        per_run = np.full((n, NUM_RUNS, 4), np.nan)
        per_run[rows[kept], run[kept]] = values[kept]
        for j, metric in enumerate(("train_acc", "val_acc", "test_acc", "train_time")):
            columns[column_name(DATASET, metric, budget)] = np.nanmean(per_run[..., j], axis=1).astype(np.float32)
            for r in range(NUM_RUNS):
                columns[column_name(DATASET, f"{metric}_run{r}", budget)] = per_run[:, r, j].astype(np.float32)
    structure = {"adjacency": np.stack(adjacency)[order], "ops": np.stack(ops)[order]}
    require_cells(path, keys, structure, progress)
    columns[column_name(DATASET, "flops")] = total_flops(*to_output_last(structure["adjacency"], structure["ops"]))
    require_sane_columns(path, columns, keys, may_be_missing=lambda name: partial)
    notes = [
        "train/val/test_acc and train_time: mean over the runs in the file; *_run<k>: run k",
        "flops: computed from the cell as thop counts the network (the file has none; equal to the compact table's for every cell)",
    ]
    return Table(keys, structure, columns, {"source_kind": "official tfrecord", "notes": notes})


def _pad_cell(raw_adjacency: str, raw_ops: str) -> tuple[np.ndarray, np.ndarray]:
    """Official record strings -> padded table-layout arrays."""
    ops = raw_ops.split(",")
    v = len(ops)
    if v > MAX_VERTICES or len(raw_adjacency) != v * v:
        raise ValueError(f"adjacency of length {len(raw_adjacency)} does not fit {v} ops")
    adjacency = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.uint8)
    adjacency[:v, :v] = np.frombuffer(raw_adjacency.encode(), dtype=np.uint8).reshape(v, v) - ord("0")
    codes = np.full(MAX_VERTICES, -1, dtype=np.int8)
    codes[:v] = [OP_IDS[o] for o in ops]
    return adjacency, codes

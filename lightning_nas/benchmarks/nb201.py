"""NAS-Bench-201 / NATS-Bench as tabular oracles.

* :class:`NB201Benchmark` (NATS-tss, 15,625 cells): from an official NATS-Bench archive through
  ``nats_bench.create(path, 'tss', fast_mode=True)`` when one is found, else from the compact
  CSV tables in ``<root>/nb201/`` (200-epoch seed means and the 12-epoch schedule).
* :class:`NATSSizeBenchmark` (NATS-sss, 32,768 channel configs): only from an official archive.

Datasets follow NATS-Bench: ``cifar10-valid`` (trained on 25k, ``val_acc`` = x-valid,
``test_acc`` = CIFAR-10 test), ``cifar10`` (trained on 50k, ``test_acc`` only), ``cifar100`` and
``ImageNet16-120`` (``val_acc`` = x-valid, ``test_acc`` = x-test, ``valtest_acc`` = both halves).
Accuracies are percent; ``params`` is a count; ``flops`` counts multiply-accumulates of one forward pass
(computed from each cell for the compact tables, NATS-Bench's own count from an archive); ``train_time``
is total training seconds; ``<device setting>/latency_ms`` is HELP's measured latency (27 settings).
"""

from __future__ import annotations

import csv
import functools
import gzip
import os
import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np

from lightning_nas.benchmarks.base import EMBEDDED_DATA, LATENCY, Benchmark, Table, column_name, data_roots, find_data, load_or_build, no_data_error
from lightning_nas.benchmarks.checks import require_sane_columns
from lightning_nas.benchmarks.training import TrainingColumns
from lightning_nas.spaces.base import FiniteSearchSpace
from lightning_nas.spaces.nats_sss import NATSSizeSpace
from lightning_nas.spaces.nb201 import OP_IDS, NB201Space, encode_ops, str_to_ops
from lightning_nas.spaces.nb201_costs import network_flops
from lightning_nas.utils.errors import BenchmarkFileError, InvalidArgument
from lightning_nas.utils.progress import progress_bar

DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
ACC_200 = "nb201_acc_200ep.csv"
ACC_12 = "nb201_acc_12ep.csv"
PER_SEED = "nb201_valid_per_seed_200ep.csv.gz"
LATENCY_CSV = "nb201_latency_help.csv.gz"
TSS_ARCHIVES = ("NATS-tss-v1_0-3ffb9-simple", "NATS-tss-v1_0-3ffb9-full")
SSS_ARCHIVES = ("NATS-sss-v1_0-50262-simple", "NATS-sss-v1_0-50262-full")

# (dataset, metric) <- CSV column, for the 200-epoch table
_COLUMNS_200 = {
    ("cifar10-valid", "test_acc"): "cifar10_valid_test_acc",
    ("cifar10-valid", "test_loss"): "cifar10_valid_test_loss",
    ("cifar10-valid", "val_acc"): "cifar10_valid_valid_acc",
    ("cifar10-valid", "train_time"): "train_time_s_cifar10_valid",
    ("cifar10", "test_acc"): "cifar10_test_acc",
    ("cifar100", "test_acc"): "cifar100_test_acc",
    ("cifar100", "val_acc"): "cifar100_valid_acc",
    ("cifar100", "valtest_acc"): "cifar100_valtest_acc",
    ("cifar100", "train_time"): "train_time_s_cifar100",
    ("ImageNet16-120", "test_acc"): "imagenet16_120_test_acc",
    ("ImageNet16-120", "val_acc"): "imagenet16_120_valid_acc",
    ("ImageNet16-120", "valtest_acc"): "imagenet16_120_valtest_acc",
    ("ImageNet16-120", "train_time"): "train_time_s_imagenet16_120",
}
_PARAMS = {
    "cifar10-valid": "params_m_cifar10",
    "cifar10": "params_m_cifar10",
    "cifar100": "params_m_cifar100",
    "ImageNet16-120": "params_m_imagenet16_120",
}
_COLUMNS_12 = {
    ("cifar10", "test_acc"): "cifar10_test_acc",
    ("cifar10-valid", "val_acc"): "cifar10_valid_valid_acc",
    ("cifar100", "val_acc"): "cifar100_valid_acc",
    ("cifar100", "test_acc"): "cifar100_test_acc",
    ("ImageNet16-120", "val_acc"): "imagenet16_120_valid_acc",
    ("ImageNet16-120", "test_acc"): "imagenet16_120_test_acc",
}
_SEED_COLUMNS = {
    ("cifar10-valid", "val_acc"): "cifar10_valid_valid_acc",
    ("cifar100", "valtest_acc"): "cifar100_valtest_acc",
    ("ImageNet16-120", "valtest_acc"): "imagenet16_120_valtest_acc",
}
SEEDS = (777, 888, 999)


class NB201Benchmark(Benchmark):
    """NAS-Bench-201 / NATS-tss: 15,625 cells on 4 datasets, rows in official index order."""

    space = NB201Space()
    datasets = DATASETS
    default_epochs = 200
    validation_dataset = {"cifar10": "cifar10-valid"}

    def __init__(self, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None, progress: bool = False, partial: bool = False) -> None:
        """``partial`` is refused: the NB201 readers check that every one of the 15,625 cells is there."""
        if partial:
            raise InvalidArgument("a partial NAS-Bench-201 table is not supported: its readers need every one of the 15,625 cells")
        sources = self.find_sources(root, source)
        latency = next((s for s in sources if s.name == LATENCY_CSV), None)
        if sources[0].name != ACC_200:
            build = functools.partial(table_from_nats, sources[0], self.space, progress)
            table = load_or_build("nb201-nats-v3", sources, functools.partial(_with_latency, build, latency))
        else:
            table = load_or_build("nb201-csv-v3", sources, functools.partial(_with_latency, functools.partial(table_from_csv, sources[0].parent), latency))
        super().__init__(table)

    def training_columns(self, dataset: str | None = None, epochs: int | None = None) -> TrainingColumns:
        """As :meth:`Benchmark.training_columns`; on CIFAR-100 and ImageNet16-120 the per-seed tables hold valtest
        accuracy (x-valid and x-test together), not x-valid, so seed ``s`` reads the x-valid seed mean plus that
        seed's deviation from the valtest mean."""
        columns = super().training_columns(dataset, epochs)
        where = self.validation_dataset.get(columns.dataset, columns.dataset)
        valtest = sorted(n for n in self.table.columns if n.startswith(f"{where}/valtest_acc_seed") and n.endswith(f"@{columns.epochs}"))
        if len(columns.per_seed) > 1 or not valtest:
            return columns
        deviation = np.stack([self.table.columns[n] for n in valtest]) - self.table.columns[column_name(where, "valtest_acc", columns.epochs)]
        note = (f"seed s reads {columns.name} + (valtest seed s - valtest mean): the tables have per-seed valtest (x-valid and x-test), "
                "not per-seed x-valid, so the seed noise is that of both halves")
        return replace(columns, per_seed=columns.per_seed[0] + deviation, notes=(note, *columns.notes[1:]))

    @classmethod
    def find_sources(cls, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None) -> list[Path]:
        """A NATS-tss archive wherever one is, else the compact CSV tables (``nb201_acc_200ep.csv`` and the
        12-epoch and per-seed tables beside it)."""
        folder = Path(source) if source is not None else None
        if folder is not None and folder.name == ACC_200 and folder.is_file():  # the compact table itself: its companion tables sit beside it
            folder = folder.parent
        if folder is not None and folder.is_file() and _find_archive(folder, TSS_ARCHIVES) is None:
            raise BenchmarkFileError(f"NB201 source {folder} is neither a NATS-tss archive {TSS_ARCHIVES} nor the compact {ACC_200}; see docs/data.md")
        roots = [folder] if folder is not None else [r / "nb201" for r in data_roots(root)]
        archive = next((a for a in (_find_archive(r, TSS_ARCHIVES) for r in roots) if a is not None), None)
        latency = find_data([*roots, EMBEDDED_DATA / "nb201"], LATENCY_CSV)  # HELP's latencies serve either source
        if archive is not None:
            return [archive, *([latency] if latency else [])]
        compact = find_data(roots, ACC_200)
        if compact is None:
            raise no_data_error("NAS-Bench-201", roots, [*TSS_ARCHIVES, ACC_200])
        return [*(compact.parent / name for name in (ACC_200, ACC_12, PER_SEED) if (compact.parent / name).is_file()), *([latency] if latency else [])]


class NATSSizeBenchmark(Benchmark):
    """NATS-Bench size space (32,768 channel configs); needs the official NATS-sss archive."""

    space = NATSSizeSpace()
    datasets = DATASETS
    default_epochs = 90
    validation_dataset = {"cifar10": "cifar10-valid"}

    def __init__(self, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None, progress: bool = False, partial: bool = False) -> None:
        if partial:
            raise InvalidArgument("a partial NATS-sss table is not supported: its reader needs every one of the 32,768 configs")
        (archive,) = self.find_sources(root, source)
        # v3: checked against the benchmark when built (v2 added each config's channel counts, the encodings' input)
        super().__init__(load_or_build("nats-sss-v3", [archive], functools.partial(table_from_nats, archive, self.space, progress)))

    @classmethod
    def find_sources(cls, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None) -> list[Path]:
        """The official NATS-sss archive: no compact table of the size space exists."""
        roots = [Path(source)] if source is not None else [r / "nats_sss" for r in data_roots(root)]
        archive = next((a for a in (_find_archive(r, SSS_ARCHIVES) for r in roots) if a is not None), None)
        if archive is None:
            raise BenchmarkFileError(
                f"no NATS-sss archive in {', '.join(map(str, roots))}: expected one of {SSS_ARCHIVES} (a folder of .pickle.pbz2 files "
                "or a single .pickle.pbz2). No compact table of the size space exists; download the official "
                "archive as docs/data.md describes."
            )
        return [archive]


def _find_archive(folder: Path, names: tuple[str, ...]) -> Path | None:
    if folder.suffixes[-2:] == [".pickle", ".pbz2"] or folder.name in names:
        return folder if folder.exists() else None
    for name in names:
        for candidate in (folder / name, folder / f"{name}.pickle.pbz2"):
            if candidate.exists():
                return candidate
    return None


def _read_csv(path: Path) -> dict[str, list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows = list(reader)
    except (OSError, EOFError, StopIteration, csv.Error, UnicodeDecodeError) as exc:
        raise BenchmarkFileError(f"{path}: unreadable CSV ({exc})") from exc
    bad = [i for i, r in enumerate(rows) if len(r) != len(header)]
    if bad:
        raise BenchmarkFileError(f"{path}: row {bad[0] + 2} has a different number of fields than the header")
    return {name: [r[j] for r in rows] for j, name in enumerate(header)}


def _floats(path: Path, data: dict[str, list[str]], name: str) -> np.ndarray:
    if name not in data:
        raise BenchmarkFileError(f"{path}: missing column {name!r}; has {sorted(data)}")
    try:
        return np.array([float(v) if v != "" else np.nan for v in data[name]], dtype=np.float64)
    except ValueError as exc:
        raise BenchmarkFileError(f"{path}: column {name!r} is not numeric ({exc})") from exc


def _check_order(path: Path, data: dict[str, list[str]], space: NB201Space) -> None:
    """Every table must list the official arch string at every official index."""
    index = _floats(path, data, "index")
    if "arch_str" in data:
        try:
            codes = encode_ops(np.array([[OP_IDS[o] for o in str_to_ops(s)] for s in data["arch_str"]]))
        except Exception as exc:
            raise BenchmarkFileError(f"{path}: bad arch string ({exc})") from exc
        if not np.array_equal(codes, encode_ops(space.op_ids[index.astype(int)])):
            raise BenchmarkFileError(f"{path}: arch strings are not in the official NAS-Bench-201 index order")
    if not np.array_equal(index, np.arange(len(space))):
        raise BenchmarkFileError(f"{path}: column 'index' must list 0..{len(space) - 1} in order")


def _with_latency(build: functools.partial, latency: Path | None) -> Table:
    """The table ``build`` makes, with a ``<setting>/latency_ms`` column per device setting of HELP's ``latency``."""
    table = build()
    if latency is None:
        return table
    space = NB201Space()
    data = _read_csv(latency)
    _check_order(latency, data, space)
    columns = {column_name(setting, LATENCY): _floats(latency, data, setting) for setting in data if setting != "index"}
    require_sane_columns(latency, columns, table.keys, may_be_missing=lambda name: False)
    table.columns.update(columns)
    table.meta["notes"].append(f"<setting>/latency_ms: HELP's measured latency in ms ({len(columns)} device / batch settings; the input size is not recorded)")
    return table


def table_from_csv(folder: Path) -> Table:
    space = NB201Space()
    columns: dict[str, np.ndarray] = {}
    path = folder / ACC_200
    data = _read_csv(path)
    _check_order(path, data, space)
    for (dataset, metric), name in _COLUMNS_200.items():
        columns[column_name(dataset, metric, 200)] = _floats(path, data, name)
    for dataset, name in _PARAMS.items():
        columns[column_name(dataset, "params")] = np.rint(_floats(path, data, name) * 1e6).astype(np.int64)
        columns[column_name(dataset, "flops")] = np.rint(network_flops(space.op_ids, dataset)).astype(np.int64)
    notes = ["200-epoch values are means over the 2-3 seeds NATS-Bench trained",
             "flops: multiply-accumulates computed from each cell as torch's flop counter counts the network (pooling not counted)"]
    if (path := folder / ACC_12).is_file():
        data = _read_csv(path)
        _check_order(path, data, space)
        for (dataset, metric), name in _COLUMNS_12.items():
            columns[column_name(dataset, metric, 12)] = _floats(path, data, name)
        notes.append("@12: the separate 12-epoch schedule (hp=12), not a truncated 200-epoch curve")
    if (path := folder / PER_SEED).is_file():
        data = _read_csv(path)
        _check_order(path, data, space)
        for (dataset, metric), name in _SEED_COLUMNS.items():
            for seed in SEEDS:
                columns[column_name(dataset, f"{metric}_seed{seed}", 200)] = _floats(path, data, f"{name}_seed{seed}")
    keys = np.array([space.arch(i) for i in range(len(space))])
    require_sane_columns(folder / ACC_200, columns, keys, may_be_missing=lambda name: "_seed" in name)  # 2-seed archs lack seed 999
    return Table(keys, {"ops": space.op_ids}, columns, {"source_kind": "compact CSV", "notes": notes})


def table_from_nats(archive: Path, space: FiniteSearchSpace, progress: bool = False) -> Table:
    """Read every architecture of an official NATS-Bench archive through ``nats_bench``."""
    import nats_bench

    fast = archive.is_dir()
    try:
        api = nats_bench.create(str(archive), "tss" if isinstance(space, NB201Space) else "sss", fast_mode=fast, verbose=False)
    except (OSError, EOFError, ValueError, KeyError, pickle.UnpicklingError) as exc:
        raise BenchmarkFileError(f"{archive}: nats_bench could not open it ({exc})") from exc
    n = len(space)
    if len(api) != n or [api.arch(i) for i in range(n)] != [space.arch(i) for i in range(n)]:
        raise BenchmarkFileError(f"{archive}: its arch list is not the {space.name} space in official order")
    hps = ("12", "200") if isinstance(space, NB201Space) else ("01", "12", "90")
    fields = {"train_acc": "train-accuracy", "val_acc": "valid-accuracy", "test_acc": "test-accuracy", "valtest_acc": "valtest-accuracy", "train_time": "train-all-time"}
    columns: dict[str, np.ndarray] = {}
    with progress_bar(f"reading {archive.name}", total=n, enabled=progress) as advance:
        for i in range(n):
            # one (deep-copied) record of the arch serves every dataset's costs: api.get_cost_info
            # would copy it once per dataset, which was most of the reading time
            record = api.query_meta_info_by_index(i, hp=hps[-1])
            for dataset in DATASETS:
                for hp in hps:
                    info = api.get_more_info(i, dataset, hp=hp, is_random=False)
                    for metric, key in fields.items():
                        if info.get(key) is not None:
                            columns.setdefault(column_name(dataset, metric, int(hp)), np.full(n, np.nan))[i] = info[key]
                costs = record.get_compute_costs(dataset)
                columns.setdefault(column_name(dataset, "params"), np.zeros(n, np.int64))[i] = round(costs["params"] * 1e6)
                columns.setdefault(column_name(dataset, "flops"), np.zeros(n, np.int64))[i] = round(costs["flops"] * 1e6)
            if fast:
                api.clear_params(i, None)
            advance()
    structure = {"ops": space.op_ids} if isinstance(space, NB201Space) else {"channels": space.channel_counts}
    keys = np.array([space.arch(i) for i in range(n)])
    require_sane_columns(archive, columns, keys, may_be_missing=lambda name: True)  # the API leaves out what a dataset or schedule lacks
    return Table(keys, structure, columns, {"source_kind": "NATS-Bench archive", "notes": ["values are means over the seeds in the archive"]})

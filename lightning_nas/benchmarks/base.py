"""The tabular-oracle interface shared by every benchmark.

A benchmark is a table: one row per architecture of its space (canonical key + the space's
structure arrays) and named metric columns. Column names are ``"<dataset>/<metric>@<epochs>"``
for results of a training run and ``"<dataset>/<metric>"`` for static costs (params, FLOPs).
Accuracies are **percent** everywhere; missing values are NaN in columns and an error in
:meth:`Benchmark.query`.
"""

from __future__ import annotations

import abc
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lightning_nas.benchmarks.training import TrainingColumns, TrainingRun
from lightning_nas.utils.cache import cache_dir, read_cache, source_fingerprint, write_cache
from lightning_nas.utils.errors import BenchmarkFileError, InvalidArchitecture, UnknownMetric
from lightning_nas.spaces.base import SearchSpace, is_index

log = logging.getLogger(__name__)

_KEYS = "keys"
_STRUCT = "structure:"
_COL = "column:"


#: The compact tables and the CIFAR-10 sample shipped inside the package: the default data source.
EMBEDDED_DATA = Path(__file__).resolve().parents[1] / "data"


def data_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """The folders data is looked for in, in order: ``root`` alone when it is given; else
    ``$LIGHTNING_NAS_DATA`` (when set), ``./data`` and the tables embedded in the package."""
    if root is not None:
        return [Path(root)]
    env = os.environ.get("LIGHTNING_NAS_DATA")
    return [*([Path(env)] if env else []), Path("data"), EMBEDDED_DATA]


def find_data(roots: Sequence[Path], *names: str) -> Path | None:
    """The first of ``names`` (paths relative to a data folder, in order of preference) found in any of
    ``roots``: an earlier name in a later folder wins over a later name in an earlier one, so an
    official file is used wherever a user put it."""
    return next((root / name for name in names for root in roots if (root / name).exists()), None)


def describe_source(path: str | os.PathLike) -> str:
    """``path`` as a user reads it: a file embedded in the package is named as such."""
    path = Path(path)
    try:
        return f"{path.relative_to(EMBEDDED_DATA)} (embedded in the package)"
    except ValueError:
        return str(path)


def no_data_error(what: str, roots: Sequence[Path], expected: Sequence[str]) -> BenchmarkFileError:
    """The error for data found in none of ``roots``, naming where it was looked for and what for."""
    where = ", ".join(str(r) for r in roots)
    return BenchmarkFileError(f"no {what} data in {where}: expected one of {list(expected)}. Pass root=..., set LIGHTNING_NAS_DATA, or see docs/data.md")


def column_name(dataset: str, metric: str, epochs: int | None = None) -> str:
    return f"{dataset}/{metric}" if epochs is None else f"{dataset}/{metric}@{epochs}"


#: The metric of latency columns, ``"<device setting>/latency_ms"`` (milliseconds per forward pass).
LATENCY = "latency_ms"


class Table:
    """Rows of a benchmark: canonical keys, structure arrays, metric columns and notes."""

    def __init__(
        self,
        keys: np.ndarray,
        structure: dict[str, np.ndarray],
        columns: dict[str, np.ndarray],
        meta: dict[str, Any],
    ) -> None:
        n = len(keys)
        for name, a in {**structure, **columns}.items():
            if len(a) != n:
                raise ValueError(f"table column {name!r} has {len(a)} rows, keys have {n}")
        self.keys, self.structure, self.columns, self.meta = keys, structure, columns, meta

    def __len__(self) -> int:
        return len(self.keys)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            _KEYS: self.keys,
            **{_STRUCT + k: v for k, v in self.structure.items()},
            **{_COL + k: v for k, v in self.columns.items()},
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Table:
        def strip(prefix: str) -> dict[str, np.ndarray]:
            return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}

        return cls(arrays[_KEYS], strip(_STRUCT), strip(_COL), meta)


def load_or_build(name: str, sources: Sequence[Path], build: Callable[[], Table]) -> Table:
    """Return the cached table for ``sources``, building and caching it on first use.

    A stale or corrupt cache is rebuilt (with a warning), never trusted."""
    path = cache_dir() / f"{name}-{source_fingerprint(*sources)}.npz"
    if path.exists():
        try:
            arrays, meta = read_cache(path)
            return Table.from_arrays(arrays, meta)
        except BenchmarkFileError as exc:
            log.warning("%s; rebuilding from %s", exc, ", ".join(map(str, sources)))
    start = time.perf_counter()
    table = build()
    table.meta.update(sources=[str(s) for s in sources], build_seconds=time.perf_counter() - start)
    write_cache(path, table.to_arrays(), table.meta)
    return table


class Benchmark(abc.ABC):
    """A read-only oracle: architecture -> trained metrics.

    ``len(bench)``, ``iter(bench)`` (architectures in row order), ``bench.query(arch, ...)``
    for one value and ``bench.column(...)`` for a whole vectorised column.
    """

    space: SearchSpace
    #: Datasets the benchmark covers; the first is the default.
    datasets: tuple[str, ...]
    #: Epoch budget used when ``epochs`` is not given (the benchmark's full training).
    default_epochs: int

    #: Datasets whose validation accuracy lives under another dataset name (NATS-Bench trains
    #: on the CIFAR-10 train split for ``cifar10-valid`` and on train+valid for ``cifar10``).
    validation_dataset: dict[str, str] = {}

    def __init__(self, table: Table) -> None:
        self.table = table
        #: simulated seconds spent by :meth:`simulate_train_eval` since the last :meth:`reset_time` (NATS-Bench's clock)
        self.used_time = 0.0

    @classmethod
    def find_sources(cls, root: str | os.PathLike | None = None, source: str | os.PathLike | None = None) -> list[Path]:
        """The files this benchmark's table would be built from (the first the one that names it), without
        reading them; :class:`BenchmarkFileError` when there are none. A benchmark built in code has none."""
        return []

    # -- rows ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self) -> Iterator[Any]:
        return (self.arch(i) for i in range(len(self)))

    @property
    def keys(self) -> np.ndarray:
        """Canonical key of every row (NB101 module hash, NB201 arch string, ...)."""
        return self.table.keys

    @property
    def structure(self) -> dict[str, np.ndarray]:
        """The space's batched structure arrays, row-aligned with the table."""
        return self.table.structure

    def arch(self, index: int) -> Any:
        """The architecture stored at row ``index`` (no negative indices: -1 is no row)."""
        if not is_index(index) or not 0 <= index < len(self):
            raise InvalidArchitecture(f"{self!r} has rows 0..{len(self) - 1}, got {index!r}")
        return self._arch(int(index))

    def _arch(self, index: int) -> Any:
        """:meth:`arch` after its range check: by default the space's arch at that official index
        (the rows of a finite space's benchmark are in official order)."""
        return self.space.arch(index)

    @cached_property
    def _row_of_key(self) -> dict[str, int]:
        return {k: i for i, k in enumerate(self.keys.tolist())}

    def index(self, arch: Any) -> int:
        """Row of ``arch``: any form the space's ``validate`` accepts, or a row's canonical key
        (what score files and best.json hold, e.g. an NB101 module hash)."""
        if isinstance(arch, str) and arch in self._row_of_key:
            return self._row_of_key[arch]
        try:
            key = self.space.key(self.space.validate(arch))
        except InvalidArchitecture as exc:
            if isinstance(arch, str):  # it was looked up as a row's key first
                raise InvalidArchitecture(f"no row of {self!r} has the key {arch!r}, and it is not an arch: {exc}") from None
            raise
        try:
            return self._row_of_key[key]
        except KeyError:
            raise InvalidArchitecture(f"{self.space.name} arch {key!r} is not in {self!r}") from None

    # -- metrics ------------------------------------------------------------------------------
    @property
    def metrics(self) -> list[str]:
        """Every column name, ``dataset/metric[@epochs]``."""
        return sorted(self.table.columns)

    def resolve_dataset(self, dataset: str | None) -> str:
        """``dataset``, or the benchmark's first when None; an unknown one is an error listing them."""
        dataset = dataset or self.datasets[0]
        if dataset not in self.datasets:
            raise UnknownMetric(f"{self!r} has no dataset {dataset!r}; datasets: {list(self.datasets)}")
        return dataset

    def resolve_column(self, dataset: str | None, metric: str, epochs: int | None) -> str:
        """The name of the column ``metric`` of ``dataset`` after ``epochs`` (the full schedule when None, or the
        static column such as ``params``), or an error listing the dataset's metrics."""
        dataset = self.resolve_dataset(dataset)
        candidates = [column_name(dataset, metric, epochs or self.default_epochs)]
        if epochs is None:
            candidates.append(column_name(dataset, metric))
        for name in candidates:
            if name in self.table.columns:
                return name
        at = f" at {epochs} epochs" if epochs is not None else ""
        raise UnknownMetric(f"{self!r} has no metric {metric!r}{at} for {dataset}; its metrics for {dataset}: {self._metrics_of(dataset)}")

    def _metrics_of(self, dataset: str) -> str:
        """``dataset``'s metrics as a user names them: "params, test_acc (epochs 12, 200)" (epochs in numeric order)."""
        epochs: dict[str, list[str]] = {}
        for name in self.metrics:
            if name.startswith(dataset + "/"):
                metric, _, at = name[len(dataset) + 1 :].partition("@")
                epochs.setdefault(metric, []).extend([at] if at else [])
        return ", ".join(f"{m} (epochs {', '.join(sorted(e, key=lambda at: (len(at), at)))})" if e else m for m, e in sorted(epochs.items()))

    def column(self, metric: str = "test_acc", dataset: str | None = None, epochs: int | None = None) -> np.ndarray:
        """A whole metric column (read-only view, NaN where a row has no value)."""
        values = self.table.columns[self.resolve_column(dataset, metric, epochs)].view()
        values.setflags(write=False)
        return values

    def query(self, arch: Any, dataset: str | None = None, metric: str = "test_acc", epochs: int | None = None) -> float:
        """One metric of one architecture. Accuracies are in percent."""
        name = self.resolve_column(dataset, metric, epochs)
        row = self.index(arch)
        value = self.table.columns[name][row]
        if value.dtype.kind == "f" and np.isnan(value):
            raise UnknownMetric(f"{self!r}: {name!r} is not available for arch {self.keys[row]!r} (row {row})")
        return value.item()

    def search_columns(self, dataset: str | None = None, select: str | None = None) -> tuple[str, str]:
        """``(select, report)`` column names for a search on ``dataset``: select on what a real user would
        have (validation accuracy where the benchmark has it, else test accuracy), report test accuracy
        (validation accuracy where the benchmark has no test accuracy: NAS-Bench-301's surrogate).
        NB201 CIFAR-10 selects on ``cifar10-valid`` validation accuracy. ``select`` names another metric to
        select on (``test_acc``, or a column such as ``cifar10/test_acc@12``): a choice the search records.
        The columns are chosen by what the benchmark has, never by which archs have a value: an arch
        without one is an error when it is queried, not a reason to select on another column."""
        dataset = self.resolve_dataset(dataset)
        if select is not None:
            chosen = select if select in self.table.columns else self.resolve_column(dataset, select, None)
        else:
            val_dataset = self.validation_dataset.get(dataset, dataset)
            chosen = self._first_column([(val_dataset, "val_acc"), (dataset, "test_acc"), (dataset, "test_acc_run0")], dataset)
        return chosen, self._first_column([(dataset, "test_acc"), (dataset, "test_acc_run0"), (self.validation_dataset.get(dataset, dataset), "val_acc")], dataset)

    def _first_column(self, candidates: list[tuple[str, str]], dataset: str) -> str:
        for ds, metric in candidates:
            try:
                return self.resolve_column(ds, metric, None)
            except UnknownMetric:
                continue
        raise UnknownMetric(f"{self!r} has no accuracy column for {dataset!r} to search on; columns: {self.metrics}")

    # -- costs and simulated training ---------------------------------------------------------
    @property
    def latency_settings(self) -> list[str]:
        """Device settings with a measured latency column (``"<setting>/latency_ms"``), e.g. ``pixel3``."""
        return sorted(name.split("/")[0] for name in self.table.columns if name.endswith("/" + LATENCY))

    def cost(self, arch: Any, dataset: str | None = None) -> dict[str, Any]:
        """What running ``arch`` costs, as far as the table knows: ``params`` (count), ``flops`` (multiply-accumulates
        of one forward pass on one image of ``dataset``) and ``latency_ms`` (milliseconds per forward pass, by device setting)."""
        row, dataset = self.index(arch), self.resolve_dataset(dataset)
        costs: dict[str, Any] = {}
        for metric in ("params", "flops"):
            try:
                costs[metric] = self.table.columns[self.resolve_column(dataset, metric, None)][row].item()
            except UnknownMetric:
                continue
        if self.latency_settings:
            costs["latency_ms"] = {s: float(self.table.columns[column_name(s, LATENCY)][row]) for s in self.latency_settings}
        return costs

    def training_columns(self, dataset: str | None = None, epochs: int | None = None) -> TrainingColumns:
        """Where a simulated training run of ``epochs`` epochs on ``dataset`` reads its numbers: the validation
        accuracy of the dataset's validation split (``cifar10`` trains on ``cifar10-valid``, as NATS-Bench does),
        per seed where the table has ``val_acc_seed<k>`` / ``val_acc_run<k>`` columns, and the training time at
        ``epochs`` or, where only the full schedule's total is known, ``epochs / full`` of it."""
        dataset = self.resolve_dataset(dataset)
        epochs = epochs or self.default_epochs
        where = self.validation_dataset.get(dataset, dataset)
        mean = self._training_column(where, "val_acc", epochs, dataset)
        per_seed = sorted(n for n in self.table.columns if n.startswith((f"{where}/val_acc_seed", f"{where}/val_acc_run")) and n.endswith(f"@{epochs}"))
        values = np.stack([self.table.columns[n] for n in per_seed]) if per_seed else self.table.columns[mean][None]
        seconds, time_note = self._training_seconds(where, epochs, dataset)
        notes = ((f"{mean} holds seed means: every simulated run reads the mean",) if not per_seed else ()) + time_note
        return TrainingColumns(dataset, epochs, values.astype(np.float64), seconds, mean, notes)

    def _training_column(self, where: str, metric: str, epochs: int, dataset: str) -> str:
        try:
            return self.resolve_column(where, metric, epochs)
        except UnknownMetric:
            have = sorted({int(n.rsplit("@", 1)[1]) for n in self.table.columns if n.startswith(f"{where}/{metric}@")})
            raise UnknownMetric(
                f"{self!r} has no {metric} after {epochs} epochs on {where} (the split {dataset} searches train on) to simulate a training run with; "
                + (f"epochs it has: {have}" if have else "it has no training runs to simulate: give a query budget instead of a time budget")
            ) from None

    def _training_seconds(self, where: str, epochs: int, dataset: str) -> tuple[np.ndarray, tuple[str, ...]]:
        """Seconds of one run of ``epochs`` epochs, and a note when they are scaled from the full schedule's total."""
        if column_name(where, "train_time", epochs) in self.table.columns:
            return self.table.columns[column_name(where, "train_time", epochs)].astype(np.float64), ()
        full = self._training_column(where, "train_time", self.default_epochs, dataset)
        note = f"time: {epochs}/{self.default_epochs} of {full} (the table has no {epochs}-epoch training time)"
        return self.table.columns[full].astype(np.float64) * (epochs / self.default_epochs), (note,)

    def simulate_train_eval(self, arch: Any, dataset: str | None = None, epochs: int = 12, seed: int | np.random.Generator | None = None,
                            account_time: bool = True) -> TrainingRun:
        """Simulate training ``arch`` for ``epochs`` epochs on ``dataset`` and evaluating it, as ``nats_bench``'s
        ``simulate_train_eval(arch, dataset, hp=str(epochs))`` does: the validation accuracy of one training seed
        (drawn from ``seed``), the run's simulated seconds and, when ``account_time``, the clock's total after it."""
        run = self.training_columns(dataset, epochs).run(self.index(arch), np.random.default_rng(seed))
        if account_time:
            self.used_time += run[1]
        return TrainingRun(run[0], run[1], self.used_time)

    def reset_time(self) -> None:
        """Restart :meth:`simulate_train_eval`'s clock (``used_time``) at zero."""
        self.used_time = 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} archs, {self.table.meta.get('source_kind', '?')})"

    def summary(self) -> str:
        """Human-readable summary: rows, the source in use, columns with coverage, provenance notes."""
        lines = [repr(self), f"  source: {', '.join(describe_source(s) for s in self.table.meta.get('sources', [])) or '?'}"]
        for name in self.metrics:
            col = self.table.columns[name]
            ok = ~np.isnan(col) if col.dtype.kind == "f" else np.ones(len(col), bool)
            lines.append(f"  {name:<40} {int(ok.sum()):>8} rows")
        for note in self.table.meta.get("notes", []):
            lines.append(f"  note: {note}")
        return "\n".join(lines)

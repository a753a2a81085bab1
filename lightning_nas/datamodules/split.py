"""Which archs a fit labels, validates on and tests on: a pure function of the benchmark and the split
settings, so the datamodule and a search from a checkpoint draw the same rows.

Splits follow the predictor literature (ReNAS, PINAT, TNASP): ``num_train`` labelled archs (or
``train_ratio`` of the space), a small validation set for checkpointing, and **test = every arch
not used for training** (the validation archs are a random subset of it). Only archs that have the
target metric (and, with a proxy table, every extra feature) take part.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.features import ExtraFeatures
from lightning_nas.utils.errors import InvalidArgument, require_count, require_integer

log = logging.getLogger(__name__)
#: The fewest archs a validation or test set may have: a rank correlation of fewer is undefined.
MIN_RANKED = 2


@dataclass(frozen=True)
class SplitSettings:
    """The settings a split is drawn from (checked when made, before any data is read).

    Args:
        metric: the target column, e.g. test_acc, val_acc, test_acc_run0 (NB101's single run).
        dataset: the benchmark's dataset; None = its first.
        epochs: training-epoch budget of the metric; None = the benchmark's default.
        num_train: labelled training archs (give this or train_ratio).
        train_ratio: labelled training archs as a fraction of the archs that take part.
        num_val: validation archs for checkpointing (a subset of the test archs; all of them when fewer).
        seed: the draw.
        train_metrics: benchmark columns whose per-arch mean replaces metric for training (e.g. two runs).
    """

    metric: str = "test_acc"
    dataset: str | None = None
    epochs: int | None = None
    num_train: int | None = None
    train_ratio: float | None = None
    num_val: int = 200
    seed: int = 0
    train_metrics: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (self.num_train is None) == (self.train_ratio is None):
            both = f"got num_train={self.num_train} and train_ratio={self.train_ratio}"
            hint = " (on the command line, --data.num_train null unsets a config's num_train)" if self.num_train is not None else ""
            raise InvalidArgument(f"give exactly one of num_train (e.g. 424) or train_ratio (e.g. 0.01), {both}{hint}")
        if self.train_ratio is not None and not 0 < self.train_ratio < 1:
            raise InvalidArgument(f"train_ratio must be in (0, 1), got {self.train_ratio}")
        if self.num_train is not None:
            require_integer("num_train", self.num_train)  # its range depends on the data: checked when drawn
        require_count("num_val", self.num_val, 0)
        require_count("seed", self.seed, 0)

    @classmethod
    def of(cls, settings: dict[str, Any]) -> SplitSettings:
        """The split settings among ``settings`` (e.g. a datamodule's hyperparameters, a checkpoint's record)."""
        names = {f.name for f in dataclasses.fields(cls)}
        chosen = {k: v for k, v in settings.items() if k in names}
        if chosen.get("train_metrics") is not None:
            chosen["train_metrics"] = tuple(chosen["train_metrics"])
        return cls(**chosen)


#: Every datamodule setting that decides which archs a fit labels and tests: the split's own, and the
#: score table whose archs alone take part. A checkpoint is tested or resumed only with the same values.
SPLIT_SETTINGS: tuple[str, ...] = (*(f.name for f in dataclasses.fields(SplitSettings)), "proxy_table")


@dataclass
class Split:
    """The rows of one split (sorted benchmark rows) and its targets (float32 [len(benchmark)], NaN
    where an arch has no value): ``train_targets`` is what training sees (the ``train_metrics`` mean on
    training rows, pseudo-labels on ``pseudo_rows``)."""

    train_rows: np.ndarray
    val_rows: np.ndarray
    test_rows: np.ndarray
    #: every arch that has the extra features (what ``predict`` scores)
    scorable_rows: np.ndarray
    targets: np.ndarray
    train_targets: np.ndarray
    pseudo_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def labelled_rows(self, validated: bool = True) -> np.ndarray:
        """The archs whose labels a fit used: training rows, and validation rows when validation ran
        (their labels chose the checkpoint). A search counts them as queries."""
        return np.union1d(self.train_rows, self.val_rows) if validated else self.train_rows.copy()


def draw_split(benchmark: Benchmark, settings: SplitSettings, features: ExtraFeatures | None = None) -> Split:
    """Draw ``settings``' split of ``benchmark``; with ``features`` from a proxy table, only the archs
    that have every feature take part. The same settings give the same split."""
    target = benchmark.column(settings.metric, settings.dataset, settings.epochs).astype(np.float32)
    scorable = features.usable if features is not None and features.proxy_table is not None else np.ones(len(benchmark), dtype=bool)
    eligible = np.flatnonzero(scorable & ~np.isnan(target))
    num_train = settings.num_train if settings.num_train is not None else max(1, round(settings.train_ratio * len(eligible)))
    if not 0 < num_train <= len(eligible) - MIN_RANKED:  # the test set's Kendall tau and Spearman need 2 archs at least
        pool = f"archs with {settings.metric!r}" + (f" and a row in {features.proxy_table}" if features is not None and features.proxy_table else "")
        raise InvalidArgument(f"num_train={num_train} must be between 1 and {len(eligible) - MIN_RANKED} (of the {len(eligible)} {pool}, {MIN_RANKED} at least are left to test on)")
    rng = np.random.default_rng(settings.seed)
    if settings.train_metrics:
        train_target = np.mean([benchmark.column(m, settings.dataset, settings.epochs) for m in settings.train_metrics], axis=0).astype(np.float32)
        pool = eligible[~np.isnan(train_target[eligible])]
        if num_train > len(pool):
            raise InvalidArgument(f"num_train={num_train} exceeds the {len(pool)} archs that have every train_metrics column {list(settings.train_metrics)}")
        drawn = rng.permutation(pool)[:num_train]
        order = np.concatenate([drawn, rng.permutation(np.setdiff1d(eligible, drawn))])
    else:
        train_target = target
        order = rng.permutation(eligible)
    train_rows = np.sort(order[:num_train])
    val_rows = np.sort(order[num_train : num_train + settings.num_val])
    if 0 < len(val_rows) < MIN_RANKED:
        raise InvalidArgument(f"{len(val_rows)} arch to validate on: a rank correlation needs at least {MIN_RANKED} (num_val={settings.num_val}; 0 validates nothing)")
    if len(val_rows) < settings.num_val:
        log.warning("num_val=%d, but only %d archs are left after the %d training archs: validating on all of them", settings.num_val, len(val_rows), num_train)
    train_targets = target.copy()
    train_targets[train_rows] = train_target[train_rows]
    return Split(train_rows, val_rows, np.sort(order[num_train:]), np.flatnonzero(scorable), target, train_targets)


def labelled_rows_of(settings: dict[str, Any], benchmark: Benchmark) -> np.ndarray:
    """Rows whose labels a fit saw (training and validation), redrawn from the datamodule settings its
    checkpoint records, on ``benchmark``: a search counts them as queries, a predictions file marks them."""
    features = ExtraFeatures(settings.get("extra_features"), benchmark, settings.get("dataset"), settings["proxy_table"]) if settings.get("proxy_table") else None
    return draw_split(benchmark, SplitSettings.of(settings), features).labelled_rows()


def rows_digest(rows: np.ndarray) -> str:
    """A short fingerprint of a set of benchmark rows (e.g. a split's labelled archs), the same for the same set."""
    return hashlib.sha256(np.unique(np.asarray(rows, dtype=np.int64)).tobytes()).hexdigest()[:16]

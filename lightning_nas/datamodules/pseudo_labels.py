"""Self-training: a first predictor's score file labels unlabelled archs for a second fit on the same split.

``pseudo_labels`` (``predict``'s CSV, from a fit on this same split) scores ``num_pseudo`` random
unlabelled archs; their scores are mapped by rank onto the distribution of the training labels (a
pairwise loss compares them with real labels), they join training, and they leave the test set.
Members trained on the first predictor's ranking of many archs rank better than members trained on
the labelled archs alone.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.datamodules.predictions import read_record, read_scores
from lightning_nas.datamodules.split import Split, rows_digest
from lightning_nas.utils.errors import InvalidArgument, LightningNASError

#: The datamodule settings of self-training (a checkpoint is tested or resumed only with the same values).
PSEUDO_LABEL_SETTINGS = ("pseudo_labels", "num_pseudo")


def add_pseudo_labels(split: Split, benchmark: Benchmark, path: str | os.PathLike, num_pseudo: int, seed: int, settings: dict | None = None) -> Split:
    """``split`` with ``num_pseudo`` unlabelled archs labelled by the score file ``path``: they join
    training (``pseudo_rows``, ``train_targets``) and leave the test set. The file's record must name the
    same split (``settings``: this run's split settings, named in the error when they differ)."""
    scores = read_scores(path)
    record = read_record(path)
    if record["labelled_digest"] != rows_digest(split.labelled_rows()):
        differ = [f"{k}={v!r} (here {settings.get(k)!r})" for k, v in record["split"].items() if settings is not None and _differs(v, settings.get(k))]
        raise LightningNASError(
            f"{path} comes from a predictor fit on other labelled archs than this split's"
            + (f" ({', '.join(differ)})" if differ else "")
            + ": its scores would carry labels of archs this run tests on; self-train with the split the teacher was fit on"
        )
    rows = scores["row"]
    ordered = (np.diff(rows) > 0).all() and (len(rows) == 0 or (rows[0] >= 0 and rows[-1] < len(benchmark.keys)))
    # predict writes every arch that has the model's features: all, or a proxy_table's archs
    if not ordered or (scores["key"] != benchmark.keys[rows]).any() or not np.isin(split.scorable_rows, rows).all():
        raise LightningNASError(
            f"{path} does not score every arch of {benchmark.space.name} this split can use, in benchmark order; "
            "write it with `predict` on this space (and this proxy_table)"
        )
    unlabelled = np.setdiff1d(split.test_rows, split.val_rows)
    if num_pseudo > len(unlabelled):
        raise InvalidArgument(f"num_pseudo={num_pseudo} exceeds the {len(unlabelled)} unlabelled archs")
    pseudo_rows = np.sort(np.random.default_rng([seed, 1]).choice(unlabelled, num_pseudo, replace=False))
    score_of = np.full(len(benchmark.keys), np.nan)
    score_of[rows] = scores["score"]
    rank = score_of[pseudo_rows].argsort().argsort()
    quantiles = (rank + 0.5) / num_pseudo
    train_targets = split.train_targets.copy()
    train_targets[pseudo_rows] = np.quantile(train_targets[split.train_rows], quantiles).astype(np.float32)
    return dataclasses.replace(split, pseudo_rows=pseudo_rows, train_targets=train_targets, test_rows=np.setdiff1d(split.test_rows, pseudo_rows))


def _differs(recorded: object, current: object) -> bool:
    """Whether a recorded split setting differs from the current one (JSON keeps tuples as lists)."""
    as_list = lambda v: list(v) if isinstance(v, (list, tuple)) else v  # noqa: E731
    return as_list(recorded) != as_list(current)

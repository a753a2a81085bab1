"""``ArchDataModule``: benchmark rows paired with their encoding and a target metric.

Splits follow the predictor literature (ReNAS, PINAT, TNASP): ``num_train`` labelled archs (or
``train_ratio`` of the space), a small validation set for checkpointing, and **test = every arch
not used for training** (the validation archs are a random subset of it). Only archs that have
the target metric take part (e.g. NB101 ``val_acc_single_run`` exists for 30,001 cells).
``extra_features`` name benchmark columns (``params``, ``flops``) or column groups computed from
the architecture (``cell_stats``, :mod:`lightning_nas.encodings.features`).
With a ``proxy_table`` (``python -m lightning_nas score``), ``extra_features`` may name its proxy
columns, and only archs scored in the table take part (so a subset of NB101 can be scored); a
``-inf`` score (a proxy's "worst possible", e.g. NASWOT of a cell with no path from input to
output) is a score, not a gap.
``augment = K`` adds K isomorphic relabelings of every training arch (same cell, another vertex
order: :meth:`~lightning_nas.spaces.base.SearchSpace.random_isomorphs`) with the same label, for
order-dependent encodings such as ReNAS tensors; test, validation and predict see each arch once.
``pseudo_labels`` + ``num_pseudo`` self-train: a first predictor's score file (``predict``'s CSV,
from a fit on this same split) labels ``num_pseudo`` random unlabelled archs; their scores are
mapped by rank onto the distribution of the training labels (a pairwise loss compares them with
real labels), they join training, and they leave the test set. Members trained on the first
predictor's ranking of many archs rank better than members trained on the labelled archs alone.
``train_metrics`` trains on the per-arch mean of several benchmark columns of the same units
(e.g. two training runs' accuracies: ``[test_acc_run0, val_acc_single_run]`` on the compact NB101
table) instead of ``metric``: averaging two independent runs halves the variance of each label's run-to-run noise.
Training archs are then drawn only from archs that have every one of those columns; validation and
test stay on ``metric``.
The same ``seed`` gives the same split (and the same relabelings and pseudo-labelled archs).
"""

from __future__ import annotations

import logging
import os
from functools import partial
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader

from lightning_nas.benchmarks import Benchmark, create
from lightning_nas.encodings import ENCODINGS, encode, get_encoding
from lightning_nas.encodings.features import feature_columns
from lightning_nas.errors import InvalidArgument, LightningNASError, UnknownMetric, require_count, require_distinct, require_integer
from lightning_nas.proxies import PROXIES
from lightning_nas.proxies.table import ScoreTable, has_features, scored_columns
from lightning_nas.spaces import get_space
from lightning_nas.writers import read_scores

log = logging.getLogger(__name__)


def _each_arch_on_one_device(size: int) -> UnrepeatedDistributedSampler | None:
    """Under DDP, each arch on exactly one device: Lightning's default DistributedSampler pads the
    devices' shares with repeated archs, which Kendall tau over the whole set would count twice.
    (Lightning keeps a loader's own DistributedSampler; predict already uses this one.)"""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return None
    devices = torch.distributed.get_world_size()
    if 0 < size < devices:  # a device without an arch would leave the others waiting for it
        archs = "1 arch" if size == 1 else f"{size} archs"
        raise InvalidArgument(f"{archs} to evaluate cannot be spread over {devices} devices, one at least on each: use fewer devices (or, for validation, a num_val of at least {devices})")
    return UnrepeatedDistributedSampler(range(size), shuffle=False)


class ArchDataModule(L.LightningDataModule):
    """Batches are dicts: ``x`` (tensor or PyG ``Batch``), ``y`` (target, percent for
    accuracies), ``index`` (benchmark row) and, when ``extra_features`` is set, ``extra``
    (float32 [B, k] raw values; the model normalises them). The module docstring has the details.

    Args:
        space: benchmark / search space: nb101, nb201 or nats_sss.
        metric: the target column, e.g. test_acc, val_acc, test_acc_run0 (NB101's single run).
        dataset: the benchmark's dataset (NB201: cifar10, cifar10-valid, cifar100, ImageNet16-120); None = its first.
        epochs: training-epoch budget of the metric; None = the benchmark's default.
        encoding: what the model reads: renas, graph, onehot or path.
        num_train: labelled training archs (give this or train_ratio).
        train_ratio: labelled training archs as a fraction of the space (give this or num_train).
        num_val: validation archs for checkpointing (a subset of the test archs; all of them when fewer).
        extra_features: benchmark columns (params, flops), column groups (cell_stats) or proxy_table columns for the model's head.
        batch_size: training archs per batch (pairwise losses compare the pairs within a batch).
        eval_batch_size: archs per validation / test / predict batch. Larger is not faster on a CPU: the shipped
            NB101 ensembles score 1.1x to 1.9x more archs per second at 1,024 than at 4,096 (perf/eval_speed.py).
        seed: the split, relabelings and pseudo-labelled archs.
        root: data folder; None = $LIGHTNING_NAS_DATA, else ./data.
        num_workers: DataLoader worker processes.
        proxy_table: score table from `score`; only archs in it take part.
        augment: relabelled vertex-order copies of each training arch (order-dependent encodings).
        pseudo_labels: a `predict` score file from a fit on this split, to self-train on.
        num_pseudo: unlabelled archs the pseudo_labels file labels for training.
        train_metrics: benchmark columns whose per-arch mean replaces metric for training (e.g. two runs).
    """

    def __init__(
        self,
        space: str = "nb101",
        metric: str = "test_acc",
        dataset: str | None = None,
        epochs: int | None = None,
        encoding: str = "renas",
        num_train: int | None = None,
        train_ratio: float | None = None,
        num_val: int = 200,
        extra_features: list[str] | None = None,
        batch_size: int = 64,
        eval_batch_size: int = 1024,
        seed: int = 0,
        root: str | os.PathLike | None = None,
        num_workers: int = 0,
        proxy_table: str | None = None,
        augment: int = 0,
        pseudo_labels: str | None = None,
        num_pseudo: int = 0,
        train_metrics: list[str] | None = None,
    ) -> None:
        super().__init__()
        if (num_train is None) == (train_ratio is None):
            both = f"got num_train={num_train} and train_ratio={train_ratio}"
            hint = " (on the command line, --data.num_train null unsets a config's num_train)" if num_train is not None else ""
            raise InvalidArgument(f"give exactly one of num_train (e.g. 424) or train_ratio (e.g. 0.01), {both}{hint}")
        if train_ratio is not None and not 0 < train_ratio < 1:
            raise InvalidArgument(f"train_ratio must be in (0, 1), got {train_ratio}")
        counts = [("num_val", num_val, 0), ("batch_size", batch_size, 1), ("eval_batch_size", eval_batch_size, 1),
                  ("num_workers", num_workers, 0), ("augment", augment, 0), ("num_pseudo", num_pseudo, 0), ("seed", seed, 0)]  # fmt: skip
        for name, value, least in counts:
            require_count(name, value, least)
        if num_train is not None:
            require_integer("num_train", num_train)  # its range depends on the data: checked in setup
        require_distinct("extra_features", extra_features or [])
        reader = get_encoding(encoding)  # the names and their pairing need no data: refuse them before any is read
        reader.check_space(get_space(space))
        if augment and reader.order_invariant:
            raise InvalidArgument(
                f"augment relabels vertex orders, to which the {encoding!r} encoding is invariant; use it with an "
                f"order-dependent encoding: {sorted(n for n, e in ENCODINGS.items() if not e.order_invariant)}"
            )
        if (pseudo_labels is None) != (num_pseudo == 0):
            raise InvalidArgument(f"pseudo_labels (a score file from `predict`) and num_pseudo > 0 go together, got {pseudo_labels!r} and {num_pseudo}")
        self.save_hyperparameters()
        self.benchmark: Benchmark | None = None
        self.features: Any = None  # the encoded space (rows built per batch), once set up
        self.augmented: Any = None  # encoded relabelings of the training archs
        self.augmented_source = np.zeros(0, dtype=np.int64)  # the benchmark row of each
        self.pseudo_rows = np.zeros(0, dtype=np.int64)

    def setup(self, stage: str | None = None) -> None:
        """:meth:`split`, then encode the space, add relabelled copies and pseudo-labels."""
        if self.features is not None:
            return
        self.split()
        hp = self.hparams
        bench = self.benchmark
        self.features = encode(get_encoding(hp.encoding), bench.space, bench.structure)
        if hp.augment:
            self._augment(bench)
        if hp.pseudo_labels is not None:
            self._add_pseudo_labels(bench)

    def split(self) -> None:
        """Load the benchmark and draw the split (train / val / test rows, targets, extra
        features) without encoding anything: all a caller needs to know which archs a fit
        labelled (a search from its checkpoint), at a fraction of ``setup``'s time and memory."""
        if self.benchmark is not None:
            return
        hp = self.hparams
        bench = create(hp.space, root=hp.root, progress=True)
        target = bench.column(hp.metric, hp.dataset, hp.epochs).astype(np.float32)
        scorable = np.ones(len(bench), dtype=bool)  # archs that have every extra feature
        scored = None
        if hp.proxy_table is not None:
            in_table, scored = ScoreTable(hp.proxy_table).lookup(hp.extra_features or [], bench.keys)
            if not in_table.any():
                raise InvalidArgument(
                    f"score table {hp.proxy_table} holds no {hp.space} arch (scored on another space?); "
                    f"build one with `python -m lightning_nas score --space {hp.space} --proxies ...`"
                )
            scorable &= in_table
        extra = self._extra_columns(bench, scored)
        if scored is not None and extra is not None:
            scorable &= has_features(extra)
        self.scorable_rows = np.flatnonzero(scorable)
        eligible = np.flatnonzero(scorable & ~np.isnan(target))
        num_train = hp.num_train if hp.num_train is not None else max(1, round(hp.train_ratio * len(eligible)))
        if not 0 < num_train < len(eligible):
            pool = f"archs with {hp.metric!r}" + (f" and a row in {hp.proxy_table}" if hp.proxy_table else "")
            raise InvalidArgument(f"num_train={num_train} must be between 1 and {len(eligible) - 1} ({pool})")
        rng = np.random.default_rng(hp.seed)
        if hp.train_metrics:
            train_target = np.mean([bench.column(m, hp.dataset, hp.epochs) for m in hp.train_metrics], axis=0).astype(np.float32)
            pool = eligible[~np.isnan(train_target[eligible])]
            if num_train > len(pool):
                raise InvalidArgument(f"num_train={num_train} exceeds the {len(pool)} archs that have every train_metrics column {list(hp.train_metrics)}")
            drawn = rng.permutation(pool)[:num_train]
            order = np.concatenate([drawn, rng.permutation(np.setdiff1d(eligible, drawn))])
        else:
            train_target = target
            order = rng.permutation(eligible)
        self.train_rows = np.sort(order[:num_train])
        self.test_rows = np.sort(order[num_train:])
        self.val_rows = np.sort(order[num_train : num_train + hp.num_val])
        if len(self.val_rows) < hp.num_val:
            log.warning("num_val=%d, but only %d archs are left after the %d training archs: validating on all of them", hp.num_val, len(self.val_rows), num_train)
        self.benchmark = bench
        self.targets = torch.from_numpy(target)
        # the targets training sees: the labels (train_metrics' mean on training rows), plus pseudo-labels
        self.train_targets = self.targets.clone()
        self.train_targets[self.train_rows] = torch.from_numpy(train_target[self.train_rows])
        self.extra = torch.from_numpy(extra.astype(np.float32)) if extra is not None else None

    def __repr__(self) -> str:
        """The split's settings (Lightning's own repr lists only the dataloaders), and its sizes once set up."""
        hp = self.hparams
        size = f"num_train={hp.num_train}" if hp.num_train is not None else f"train_ratio={hp.train_ratio}"
        text = f"{type(self).__name__}(space={hp.space!r}, metric={hp.metric!r}, encoding={hp.encoding!r}, {size}, seed={hp.seed})"
        if self.benchmark is not None:
            text += f": {len(self.train_rows):,} train / {len(self.val_rows):,} val / {len(self.test_rows):,} test archs"
        return text

    def _augment(self, bench: Benchmark) -> None:
        hp = self.hparams
        encoding = get_encoding(hp.encoding)
        structure = {k: v[self.train_rows] for k, v in bench.structure.items()}
        isomorphs = bench.space.random_isomorphs(structure, hp.augment, np.random.default_rng(hp.seed))
        self.augmented = encoding(bench.space, isomorphs)
        self.augmented_source = np.repeat(self.train_rows, hp.augment)

    def _add_pseudo_labels(self, bench: Benchmark) -> None:
        hp = self.hparams
        scores = read_scores(hp.pseudo_labels)
        rows = scores["row"]
        ordered = (np.diff(rows) > 0).all() and (len(rows) == 0 or (rows[0] >= 0 and rows[-1] < len(bench.keys)))
        # predict writes every arch that has the model's features: all, or a proxy_table's archs
        if not ordered or (scores["key"] != bench.keys[rows]).any() or not np.isin(self.scorable_rows, rows).all():
            raise LightningNASError(
                f"{hp.pseudo_labels} does not score every arch of {hp.space} this split can use, in benchmark order; "
                "write it with `predict` on this space (and this proxy_table)"
            )
        if not np.array_equal(rows[scores["seen_label"]], self.labelled_rows):
            raise LightningNASError(
                f"{hp.pseudo_labels} comes from a predictor fit on other labelled archs than this split's (data.seed, num_train and num_val must match): "
                "its scores would carry labels of archs this run tests on"
            )
        unlabelled = np.setdiff1d(self.test_rows, self.val_rows)
        if hp.num_pseudo > len(unlabelled):
            raise InvalidArgument(f"num_pseudo={hp.num_pseudo} exceeds the {len(unlabelled)} unlabelled archs")
        self.pseudo_rows = np.sort(np.random.default_rng([hp.seed, 1]).choice(unlabelled, hp.num_pseudo, replace=False))
        score_of = np.full(len(bench.keys), np.nan)
        score_of[rows] = scores["score"]
        rank = score_of[self.pseudo_rows].argsort().argsort()
        quantiles = (rank + 0.5) / hp.num_pseudo
        self.train_targets[self.pseudo_rows] = torch.from_numpy(np.quantile(self.train_targets[self.train_rows].numpy(), quantiles).astype(np.float32))
        self.test_rows = np.setdiff1d(self.test_rows, self.pseudo_rows)

    def _extra_columns(self, bench: Benchmark, scored: np.ndarray | None) -> np.ndarray | None:
        """[rows, k] extra features: proxy-table columns (``scored``) by name, else benchmark
        columns and column groups (:func:`~lightning_nas.encodings.features.feature_columns`)."""
        hp = self.hparams
        if not hp.extra_features:
            return None
        blocks = []
        from_table = scored_columns(scored) if scored is not None else np.zeros(len(hp.extra_features), dtype=bool)
        for i, name in enumerate(hp.extra_features):
            if from_table[i]:
                blocks.append(scored[:, i : i + 1])
            else:
                try:
                    blocks.append(feature_columns(bench, [name], hp.dataset))
                except UnknownMetric as exc:
                    if name not in PROXIES:
                        raise
                    where = f"{hp.proxy_table} has no {name!r} scores" if hp.proxy_table else "give data.proxy_table"
                    raise InvalidArgument(f"extra feature {name!r} is a zero-cost proxy: {where}; score it with `python -m lightning_nas score --proxies {name}`") from exc
        return np.concatenate(blocks, axis=1)

    @property
    def labelled_rows(self) -> np.ndarray:
        """The archs whose labels a fit uses: training and validation (sorted)."""
        self._require(encoded=False)
        return np.union1d(self.train_rows, self.val_rows)

    def collate(self, rows: list[int], targets: torch.Tensor | None = None) -> dict[str, Any]:
        """Gather a batch from the pre-encoded table (one vectorised gather, no per-item work),
        labels from ``targets`` (default: the real ones). Rows past the table are augmented copies
        (training only): ``x`` is the relabelled encoding, label and extra features are the source arch's."""
        targets = self.targets if targets is None else targets
        index = torch.as_tensor(rows, dtype=torch.long)
        copy = index - len(self.targets)
        is_copy = copy >= 0
        if is_copy.any():
            x = torch.empty((len(index), *self.augmented.shape[1:]), dtype=self.augmented.dtype)
            x[~is_copy] = self.features.batch(index[~is_copy])
            x[is_copy] = self.augmented.batch(copy[is_copy])
            index = index.clone()
            index[is_copy] = torch.from_numpy(self.augmented_source)[copy[is_copy]]
        else:
            x = self.features.batch(index)
        batch = {"x": x, "y": targets[index], "index": index}
        if self.extra is not None:
            batch["extra"] = self.extra[index]
        return batch

    def _require(self, encoded: bool = True) -> None:
        """A clear error, not an AttributeError, for a datamodule used before it was set up
        (in a notebook, ``dm.train_dataloader()`` before ``dm.setup()``; a Trainer calls setup)."""
        if self.benchmark is None or (encoded and self.features is None):
            needs = "setup()" if encoded else "split() or setup()"
            raise LightningNASError(f"{self!r} is not set up yet: call {needs} first (a Trainer calls setup)")

    def _loader(self, rows: np.ndarray, shuffle: bool, batch_size: int, targets: torch.Tensor | None = None) -> DataLoader:
        generator = torch.Generator().manual_seed(self.hparams.seed) if shuffle else None
        return DataLoader(
            rows.tolist(),
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=None if shuffle else _each_arch_on_one_device(len(rows)),
            generator=generator,
            collate_fn=partial(self.collate, targets=targets),
            num_workers=self.hparams.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        self._require()
        copies = len(self.targets) + np.arange(len(self.augmented_source))
        return self._loader(np.concatenate([self.train_rows, self.pseudo_rows, copies]), True, self.hparams.batch_size, self.train_targets)

    def val_dataloader(self) -> DataLoader:
        self._require()  # before the rows it reads, which setup makes
        return self._loader(self.val_rows, False, self.hparams.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        self._require()
        return self._loader(self.test_rows, False, self.hparams.eval_batch_size)

    def predict_dataloader(self) -> DataLoader:
        """Every arch of the benchmark that has the model's extra features, in row order: all of
        them, except that with a ``proxy_table`` only the archs it scores have their proxies."""
        self._require()
        return self._loader(self.scorable_rows, False, self.hparams.eval_batch_size)

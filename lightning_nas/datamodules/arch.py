"""``ArchDataModule``: benchmark rows paired with their encoding and a target metric.

The split (which archs are labelled, validated on and tested on) is drawn by
:func:`~lightning_nas.datamodules.split.draw_split`; ``extra_features`` are resolved by
:class:`~lightning_nas.features.ExtraFeatures`: benchmark columns (``params``, ``flops``), column groups
computed from the architecture (``cell_stats``) or, with a ``proxy_table`` (``python -m lightning_nas
score``), its zero-cost proxy columns; then only archs scored in the table take part (so a subset of
NB101 can be scored), and a ``-inf`` score (a proxy's "worst possible", e.g. NASWOT of a cell with no
path from input to output) is a score, not a gap.
``augment = K`` adds K isomorphic relabelings of every training arch (same cell, another vertex
order: :meth:`~lightning_nas.spaces.base.SearchSpace.random_isomorphs`) with the same label, for
order-dependent encodings such as ReNAS tensors; test, validation and predict see each arch once.
``pseudo_labels`` + ``num_pseudo`` self-train (:mod:`~lightning_nas.datamodules.pseudo_labels`).
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
from lightning_nas.datamodules.pseudo_labels import add_pseudo_labels
from lightning_nas.datamodules.split import Split, SplitSettings, draw_split
from lightning_nas.encodings import ENCODINGS, encode, get_encoding
from lightning_nas.features import ExtraFeatures, expand_features
from lightning_nas.spaces import get_space
from lightning_nas.utils.errors import InvalidArgument, LightningNASError, require_count, require_distinct

log = logging.getLogger(__name__)


def input_shape(space: str, encoding: str, extra_features: list[str] | None = None) -> dict[str, int]:
    """What a predictor reading ``encoding`` of ``space`` archs needs to know of its input, without
    reading any data: the space's layout of the encoding, and ``extra``, the number of extra feature
    columns (a group such as ``cell_stats`` is many). E.g. ``GNNPredictor(input_shape=input_shape("nb201", "graph"))``."""
    built = get_space(space)
    return {**get_encoding(encoding).shape(built), "extra": len(expand_features(extra_features, built))}


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
        self.split_settings = SplitSettings.of(locals())
        counts = [("batch_size", batch_size, 1), ("eval_batch_size", eval_batch_size, 1), ("num_workers", num_workers, 0), ("augment", augment, 0), ("num_pseudo", num_pseudo, 0)]
        for name, value, least in counts:
            require_count(name, value, least)
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
        self.split: Split | None = None
        self.extra: torch.Tensor | None = None  # float32 [len(benchmark), columns], once drawn
        self.features: Any = None  # the encoded space (rows built per batch), once set up
        self.augmented: Any = None  # encoded relabelings of the training archs
        self.augmented_source = np.zeros(0, dtype=np.int64)  # the benchmark row of each
        #: the training order's generator: one stream over all epochs, saved with checkpoints (state_dict)
        self.train_order = torch.Generator().manual_seed(seed)

    @property
    def input_shape(self) -> dict[str, int]:
        """What a model reading this data needs to know of its input (:func:`input_shape`); the CLI
        links it to the model's ``input_shape``."""
        return input_shape(self.hparams.space, self.hparams.encoding, self.hparams.extra_features)

    def setup(self, stage: str | None = None) -> None:
        """:meth:`draw`, then encode the space, add relabelled copies and pseudo-labels."""
        if self.features is not None:
            return
        self.draw()
        hp = self.hparams
        bench = self.benchmark
        self.features = encode(get_encoding(hp.encoding), bench.space, bench.structure)
        if hp.augment:
            self._augment(bench)
        if hp.pseudo_labels is not None:
            self.split = add_pseudo_labels(self.split, bench, hp.pseudo_labels, hp.num_pseudo, hp.seed, dict(hp))

    def draw(self) -> None:
        """Load the benchmark, resolve the extra features and draw the split without encoding anything:
        all a caller needs to know which archs a fit labelled, at a fraction of ``setup``'s time and memory."""
        if self.benchmark is not None:
            return
        hp = self.hparams
        bench = create(hp.space, root=hp.root, progress=True)
        extra = ExtraFeatures(hp.extra_features, bench, hp.dataset, hp.proxy_table) if hp.extra_features or hp.proxy_table else None
        self.split = draw_split(bench, self.split_settings, extra)
        self.extra = torch.from_numpy(extra.values.astype(np.float32)) if extra is not None and extra.names else None
        self.benchmark = bench

    def __repr__(self) -> str:
        """The split's settings (Lightning's own repr lists only the dataloaders), and its sizes once drawn."""
        hp = self.hparams
        size = f"num_train={hp.num_train}" if hp.num_train is not None else f"train_ratio={hp.train_ratio}"
        text = f"{type(self).__name__}(space={hp.space!r}, metric={hp.metric!r}, encoding={hp.encoding!r}, {size}, seed={hp.seed})"
        if self.split is not None:
            text += f": {len(self.split.train_rows):,} train / {len(self.split.val_rows):,} val / {len(self.split.test_rows):,} test archs"
        return text

    def _augment(self, bench: Benchmark) -> None:
        hp = self.hparams
        train_rows = self.split.train_rows
        structure = {k: v[train_rows] for k, v in bench.structure.items()}
        isomorphs = bench.space.random_isomorphs(structure, hp.augment, np.random.default_rng(hp.seed))
        self.augmented = get_encoding(hp.encoding)(bench.space, isomorphs)
        self.augmented_source = np.repeat(train_rows, hp.augment)

    def collate(self, rows: list[int], targets: torch.Tensor | None = None) -> dict[str, Any]:
        """Gather a batch from the pre-encoded table (one vectorised gather, no per-item work),
        labels from ``targets`` (default: the real ones). Rows past the table are augmented copies
        (training only): ``x`` is the relabelled encoding, label and extra features are the source arch's."""
        targets = torch.from_numpy(self._require().targets) if targets is None else targets
        index = torch.as_tensor(rows, dtype=torch.long)
        copy = index - len(targets)
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

    def _require(self) -> Split:
        """The split, or a clear error, not an AttributeError, for a datamodule used before it was set up
        (in a notebook, ``dm.train_dataloader()`` before ``dm.setup()``; a Trainer calls setup)."""
        if self.split is None or self.features is None:
            raise LightningNASError(f"{self!r} is not set up yet: call setup() first (a Trainer calls setup)")
        return self.split

    def state_dict(self) -> dict[str, Any]:
        """The training order's generator, saved with a checkpoint: a resumed fit goes on with the order the
        uninterrupted one would have drawn (it used to start again from epoch 0's)."""
        return {"train_order": self.train_order.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.train_order.set_state(state_dict["train_order"])

    def _loader(self, rows: np.ndarray, shuffle: bool, batch_size: int, targets: np.ndarray) -> DataLoader:
        return DataLoader(
            rows.tolist(),
            batch_size=batch_size,
            shuffle=shuffle,
            sampler=None if shuffle else _each_arch_on_one_device(len(rows)),
            generator=self.train_order if shuffle else None,
            collate_fn=partial(self.collate, targets=torch.from_numpy(targets)),
            num_workers=self.hparams.num_workers,
        )

    def train_dataloader(self) -> DataLoader:
        split = self._require()
        copies = len(split.targets) + np.arange(len(self.augmented_source))
        return self._loader(np.concatenate([split.train_rows, split.pseudo_rows, copies]), True, self.hparams.batch_size, split.train_targets)

    def val_dataloader(self) -> DataLoader:
        split = self._require()  # before the rows it reads, which setup makes
        return self._loader(split.val_rows, False, self.hparams.eval_batch_size, split.targets)

    def test_dataloader(self) -> DataLoader:
        split = self._require()
        return self._loader(split.test_rows, False, self.hparams.eval_batch_size, split.targets)

    def predict_dataloader(self) -> DataLoader:
        """Every arch of the benchmark that has the model's extra features, in row order: all of
        them, except that with a ``proxy_table`` only the archs it scores have their proxies."""
        split = self._require()
        return self._loader(split.scorable_rows, False, self.hparams.eval_batch_size, split.targets)

"""``RankingPredictor``: the Lightning logic shared by every performance predictor.

A predictor maps a batch from :class:`~lightning_nas.datamodules.ArchDataModule` to one score
per architecture; only the order of the scores matters. Subclasses build one network
(:meth:`RankingPredictor.build_member`); this class handles ensembles of independently
initialised members, optional extra features (params, FLOPs, proxy scores: signed-log,
standardised with whole-space statistics kept in the checkpoint), the ranking loss, Kendall tau /
Spearman / top-1 % precision for validation and test, training curves at fit end and a
predicted-vs-true plot at test end, and the optimiser.
"""

from __future__ import annotations

import abc
import os
import warnings
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torchmetrics import MetricCollection, SpearmanCorrCoef
from torchmetrics.utilities import dim_zero_cat

from lightning_nas import __version__
from lightning_nas.models.curves import TrainingCurves
from lightning_nas.models.losses import RankingLoss, ReNASLoss
from lightning_nas.models.metrics import KendallTau, TopKPrecision
from lightning_nas.utils.checkpoints import DIGEST_KEY, RNG_KEY, read_checkpoint, restore_rng_states, rng_states, verify_weights, weights_digest
from lightning_nas.utils.errors import CheckpointError, InvalidArgument, require_at_least, require_count, require_fraction, require_positive
from lightning_nas.utils.heap import HeapTrim
from lightning_nas.utils.runs import log_image, run_folder


def _ranking_metrics() -> MetricCollection:
    with warnings.catch_warnings():  # keeping every prediction is the point: ranks need the whole set
        warnings.filterwarnings("ignore", message="Metric `SpearmanCorrcoef` will save all targets")
        return MetricCollection({"ktau": KendallTau(), "spearman": SpearmanCorrCoef(), "top1pct_precision": TopKPrecision(0.01)})


def signed_log(x: torch.Tensor) -> torch.Tensor:
    """sign(x) * log(1 + |x|): tames params/FLOPs/proxy scores spanning orders of magnitude. Built in
    place on one new tensor: the whole space's extra features (NB101 with ``cell_stats``: 190 MB in
    float64) would otherwise pass through four temporaries of that size."""
    return x.abs().log1p_().copysign_(x)


def load_predictor(path: str | os.PathLike) -> RankingPredictor:
    """The predictor in a checkpoint written by ``fit``, in eval mode (any :class:`RankingPredictor`
    subclass: the class is recorded in the checkpoint); trust the file as :func:`read_checkpoint` says."""
    return predictor_from_checkpoint(read_checkpoint(path), path).eval()


def predictor_from_checkpoint(checkpoint: dict[str, Any], path: str | os.PathLike) -> RankingPredictor:
    """Rebuild the predictor a read checkpoint holds: its recorded class, built with its saved
    settings, with its weights. A checkpoint whose settings or weights the class no longer takes (one
    written by another release, or edited) is a :class:`CheckpointError` naming both releases, not
    a state-dict traceback."""
    name = checkpoint.get(RankingPredictor.CLASS_KEY)
    classes = {cls.__name__: cls for cls in _subclasses(RankingPredictor)}
    if name not in classes:
        raise CheckpointError(f"{path} is not a lightning_nas predictor checkpoint (class {name!r}; known {sorted(classes)})")
    settings = {k: v for k, v in (checkpoint.get("hyper_parameters") or {}).items() if not k.startswith("_")}  # not Lightning's _class_path / _instantiator
    try:
        model = classes[name](**settings)
        model.load_state_dict(checkpoint["state_dict"])
    except Exception as exc:  # unknown settings (TypeError), a refused value (ours), weights of other shapes (RuntimeError)
        written = checkpoint.get(RankingPredictor.VERSION_KEY)
        by = f"lightning_nas {written}" if written else "a lightning_nas release that did not record its version"
        reason = " ".join(line.strip() for line in str(exc).splitlines()[:2])  # a state-dict error lists every tensor
        raise CheckpointError(f"cannot rebuild the {name} in {path} (written by {by}; this is {__version__}): {type(exc).__name__}: {reason}") from exc
    return model


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


class ScoreHead(nn.Sequential):
    """Where a member's pooled features become one score per arch: linear -> ReLU -> dropout ->
    linear over the features with the extra feature columns (params, FLOPs, proxy scores) appended,
    so the extras meet the learned features before the last nonlinearity."""

    def __init__(self, in_features: int, num_extra: int, hidden: int, dropout: float) -> None:
        super().__init__(nn.Linear(in_features + num_extra, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        if extra is not None:
            features = torch.cat([features, extra], dim=1)
        return super().forward(features).squeeze(-1)


def check_member_settings(hidden: int, dropout: float) -> None:
    """The head settings every kind of member shares: a width and a dropout probability."""
    require_count("hidden", hidden, 1)
    require_fraction("dropout", dropout)


class RankingPredictor(L.LightningModule, abc.ABC):
    """The arguments every predictor shares (``space``, ``encoding``, ``extra_features`` and
    ``input_shape`` are linked from the datamodule's on the command line).

    Args:
        space: the search space the predictor scores (recorded, so a checkpoint is used on its own space).
        encoding: the encoding it reads (each predictor supports its own).
        extra_features: columns for its head, normalised with whole-space statistics.
        input_shape: what it reads of each arch: the encoding's shape in its space and ``extra``, the
            number of extra feature columns (``ArchDataModule.input_shape``).
        loss: ranking loss; None = ReNASLoss.
        lr: AdamW learning rate (cosine-annealed over the run).
        weight_decay: AdamW weight decay.
        ensemble_size: independently initialised members whose scores are averaged.
    """

    #: Checkpoint entry naming the predictor class, so a search can rebuild any predictor.
    CLASS_KEY = "lightning_nas_predictor"
    #: Checkpoint entry naming the lightning_nas release that wrote it.
    VERSION_KEY = "lightning_nas_version"

    def __init__(
        self,
        space: str = "nb101",
        encoding: str = "renas",
        extra_features: list[str] | None = None,
        input_shape: dict[str, int] | None = None,
        loss: RankingLoss | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        ensemble_size: int = 1,
    ) -> None:
        super().__init__()
        if input_shape is None or "extra" not in input_shape:
            raise InvalidArgument(f"{type(self).__name__} needs input_shape, what it reads of each arch: ArchDataModule(...).input_shape (the command line links it), got {input_shape!r}")
        require_count("ensemble_size", ensemble_size, 1)
        require_at_least("weight_decay", weight_decay, 0)
        require_positive("lr", lr)
        self.save_hyperparameters(ignore=["loss"])
        self.loss_fn = loss if loss is not None else ReNASLoss()
        self.num_extra = input_shape["extra"]  # a group (cell_stats) is many columns
        self.register_buffer("extra_mean", torch.zeros(self.num_extra))
        self.register_buffer("extra_std", torch.ones(self.num_extra))
        self.register_buffer("extra_floor", torch.zeros(self.num_extra))
        self.register_buffer("extra_ready", torch.tensor(False))
        self.members = nn.ModuleList(self.build_member(i) for i in range(ensemble_size))
        self.val_metrics = _ranking_metrics().clone(prefix="val/")
        self.test_metrics = _ranking_metrics().clone(prefix="test/")

    @classmethod
    def for_datamodule(cls, datamodule: L.LightningDataModule, **kwargs: Any) -> RankingPredictor:
        """A predictor built for what ``datamodule`` feeds (its space, encoding, extra features and
        input shape), as the command line links them: ``GNNPredictor.for_datamodule(dm, ensemble_size=2)``."""
        hp = datamodule.hparams
        return cls(space=hp.space, encoding=hp.encoding, extra_features=hp.extra_features, input_shape=datamodule.input_shape, **kwargs)

    @abc.abstractmethod
    def build_member(self, index: int) -> nn.Module:
        """Ensemble member ``index``: ``member(x, extra) -> scores [B]`` (``extra`` is None or
        [B, k]). The index lets an ensemble mix kinds of network."""

    # -- extra features -------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        """Check that the datamodule feeds what this model reads (and, for ``fit``, batches a loss
        can learn from); then fix the extra-feature statistics from the whole space (no labels involved) once;
        afterwards they live in the checkpoint. Statistics use each column's finite values
        (archs without a proxy score never enter a batch); ``-inf`` (a proxy's "worst possible",
        e.g. NASWOT of a cell with no path from input to output) enters as ``extra_floor``, one
        standard deviation below the column's lowest finite value."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None:
            self._check_inputs(datamodule)
            if stage == "fit":
                self._check_batches(datamodule)
        if self.num_extra and not bool(self.extra_ready) and datamodule is not None:
            values = signed_log(datamodule.extra.double()).numpy()
            values[~np.isfinite(values)] = np.nan
            mean, std = np.nanmean(values, 0), np.clip(np.nanstd(values, 0, ddof=1), 1e-8, None)
            self.extra_mean.copy_(torch.from_numpy(mean))
            self.extra_std.copy_(torch.from_numpy(std))
            self.extra_floor.copy_(torch.from_numpy((np.nanmin(values, 0) - mean) / std - 1))
            self.extra_ready.fill_(True)

    def _check_inputs(self, datamodule: L.LightningDataModule) -> None:
        """The datamodule must feed what this model was built for. The CLI links these settings;
        from Python a mismatch ended in a shape error deep in torch or PyG, or, for extra features
        the model was built without, in columns silently ignored."""
        theirs = {**getattr(datamodule, "hparams", {}), **({"input_shape": datamodule.input_shape} if hasattr(datamodule, "input_shape") else {})}
        differ = [
            f"{key} {self.hparams.get(key)!r} (the datamodule: {theirs.get(key)!r})"
            for key in ("space", "encoding", "extra_features", "input_shape")
            if key in theirs and (self.hparams.get(key) or None) != (theirs.get(key) or None)
        ]
        if differ:
            raise InvalidArgument(f"{type(self).__name__} was built for {'; '.join(differ)}: build the model and the datamodule with the same settings")

    def _check_batches(self, datamodule: L.LightningDataModule) -> None:
        """A batch of one arch (``batch_size: 1``, or a single training arch) gives the pairwise
        losses no pair and MSE no spread: the fit would learn nothing, without a word."""
        batch_size = getattr(datamodule, "hparams", {}).get("batch_size")
        split = getattr(datamodule, "split", None)
        archs = len(split.train_rows) + len(split.pseudo_rows) if split is not None else 0
        least = self.loss_fn.min_batch
        if batch_size is not None and batch_size < least:
            raise InvalidArgument(f"batch_size {batch_size}: {type(self.loss_fn).__name__} needs at least {least} archs in a batch (the configs use 64)")
        if 0 < archs < least:
            raise InvalidArgument(f"{archs} training arch: {type(self.loss_fn).__name__} needs at least {least} to learn from (raise num_train)")

    def _extra(self, batch: dict[str, Any]) -> torch.Tensor | None:
        if not self.num_extra:
            return None
        if "extra" not in batch:
            raise InvalidArgument(f"this predictor was trained with extra features {self.hparams.extra_features}; the batch has none")
        extra = batch["extra"]
        if extra.ndim != 2 or extra.shape[1] != self.num_extra:
            raise InvalidArgument(
                f"this predictor reads {self.num_extra} extra feature columns ({self.hparams.extra_features}), got extra of shape {list(extra.shape)}"
            )
        bad = (torch.isnan(extra) | torch.isposinf(extra)).any(1)
        if bad.any():
            where = f"benchmark rows {batch['index'][bad][:10].tolist()}" if "index" in batch else f"archs at positions {torch.nonzero(bad).flatten()[:10].tolist()}"
            raise InvalidArgument(f"extra features {self.hparams.extra_features} are NaN or +inf for {where}; score those archs first")
        z = (signed_log(extra) - self.extra_mean) / self.extra_std
        return torch.where(torch.isneginf(z), self.extra_floor, z)

    # -- forward / steps ------------------------------------------------------------------------
    def member_scores(self, batch: dict[str, Any]) -> torch.Tensor:
        extra = self._extra(batch)
        return torch.stack([member(batch["x"], extra) for member in self.members])

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        """Ensemble score per architecture: the mean of the members' scores."""
        return self.member_scores(batch).mean(0)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        scores = self.member_scores(batch)
        loss = torch.stack([self.loss_fn(s, batch["y"]) for s in scores]).mean()
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["y"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.val_metrics.update(self(batch), batch["y"])

    def on_validation_epoch_end(self) -> None:
        # logged as metric objects, which gather every device's archs and reset themselves
        self.log_dict(self.val_metrics, prog_bar=True)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.test_metrics.update(self(batch), batch["y"])

    def on_test_epoch_end(self) -> None:
        kendall = self.test_metrics["ktau"]  # it keeps every test arch's score and label
        with kendall.sync_context():  # all devices' archs, under DDP
            scores, targets = dim_zero_cat(kendall.preds), dim_zero_cat(kendall.target)
        # fast_dev_run writes no logs or files, as Lightning means it; one plot per run, not per device
        if self.trainer.is_global_zero and not self.trainer.fast_dev_run:
            self._log_scatter(scores.cpu().numpy(), targets.cpu().numpy())
        self.log_dict(self.test_metrics)

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, torch.Tensor]:
        return {"index": batch["index"], "score": self(batch)}

    def _log_scatter(self, scores: np.ndarray, targets: np.ndarray) -> None:
        from lightning_nas.viz import predicted_vs_true

        path = run_folder(self.trainer) / "predicted_vs_true.png"
        predicted_vs_true(scores, targets, path, title=type(self).__name__)
        log_image(self.trainer, "test/predicted_vs_true", path)

    def configure_callbacks(self) -> list[L.Callback]:
        """Every fit draws its training curves (:class:`~lightning_nas.models.curves.TrainingCurves`), and
        scoring the whole space returns freed memory as it goes (:class:`~lightning_nas.utils.heap.HeapTrim`).
        A trainer that has them already (or subclasses of them) keeps its own: fit's test runs on the
        same trainer, and Lightning would announce that a new one replaces it."""
        return [kind() for kind in (TrainingCurves, HeapTrim) if not any(isinstance(callback, kind) for callback in self.trainer.callbacks)]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[self.CLASS_KEY] = type(self).__name__
        checkpoint[self.VERSION_KEY] = __version__  # which release wrote it, beside Lightning's own version entry
        checkpoint[DIGEST_KEY] = weights_digest(checkpoint["state_dict"])  # checked whenever it is read
        checkpoint[RNG_KEY] = rng_states()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Damaged weights are an error before Lightning loads them (``load_from_checkpoint``, a fit resumed or a
        test from ``ckpt_path`` in Python; the command line checks the file as it parses its arguments). The
        random generators' states wait for the training to start again (:meth:`on_train_start`)."""
        verify_weights(checkpoint, "the checkpoint")
        self._resumed_rng_states = checkpoint.get(RNG_KEY)

    def on_train_start(self) -> None:
        """A resumed fit draws on from where the saved one was (dropout masks, ...), so it is the same run as
        an uninterrupted one. Set here, after the sanity check, whose loaders draw from torch's generator."""
        states = getattr(self, "_resumed_rng_states", None)
        if states is not None:
            restore_rng_states(states)
            self._resumed_rng_states = None

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, self.trainer.estimated_stepping_batches))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

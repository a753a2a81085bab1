"""``TrainingCurves``: a fit's training loss and validation metrics per epoch, drawn at its end.

W&B runs offline by default and a CSV log is a table: neither shows a curve until someone syncs
or plots it. Every predictor attaches this callback (``RankingPredictor.configure_callbacks``), so
each fit leaves ``runs/<config>/<run>/training_curves.png`` beside its predicted-vs-true plot (and logs it
as a W&B image). The history travels in the checkpoint, so a resumed fit draws the whole run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import lightning as L
import torch

from lightning_nas.utils.runs import log_image, run_folder

Points = list[tuple[float, float]]


class TrainingCurves(L.Callback):
    """Records ``train/loss`` (the mean of the steps' losses, over every device) at each epoch's
    end and every ``val/`` metric at each validation of ``fit``, on an axis of epochs done."""

    FILENAME = "training_curves.png"

    def __init__(self) -> None:
        self.history: dict[str, Points] = {}
        self._loss_sum: torch.Tensor | float = 0.0
        self._steps = 0

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._loss_sum, self._steps = 0.0, 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor):
            # Lightning hands over the loss divided by accumulate_grad_batches; the curve shows the step's own
            self._loss_sum = self._loss_sum + loss.detach().float() * trainer.accumulate_grad_batches
            self._steps += 1

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # every device calls the reduction, also one without steps, or the others would wait for it
        totals = trainer.strategy.reduce(torch.tensor([float(self._loss_sum), self._steps], device=pl_module.device), reduce_op="sum")
        loss_sum, steps = totals.tolist()
        if steps:
            self.history.setdefault("train/loss", []).append((trainer.current_epoch + 1, loss_sum / steps))

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        # a validation inside an epoch (val_check_interval < 1) sits at its fraction of the epoch
        batches = trainer.num_training_batches
        done = trainer.fit_loop.epoch_loop.batch_progress.current.ready / batches if math.isfinite(batches) and batches else 1.0
        epoch = round(trainer.current_epoch + done, 3)
        for name, value in trainer.callback_metrics.items():  # Lightning has just computed them, over every device
            if name.startswith("val/"):
                self.history.setdefault(name, []).append((epoch, float(value)))

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # fast_dev_run writes no logs or files, as Lightning means it; one plot per run, not per device
        if not trainer.is_global_zero or trainer.fast_dev_run or not self.history:
            return
        from lightning_nas.viz import training_curves

        path = training_curves(self.history, run_folder(trainer) / self.FILENAME, title=type(pl_module).__name__)
        log_image(trainer, "fit/training_curves", path)

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = {name: [tuple(point) for point in points] for name, points in state_dict.get("history", {}).items()}

"""Lightning's progress off a terminal: a fit, test or predict whose output goes to a file or pipe
(a batch job) shows a line every :data:`~lightning_nas.utils.progress.LINE_INTERVAL` seconds instead of
bars, whose terminal codes a log file cannot show."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks.progress import ProgressBar

from lightning_nas.utils.progress import LINE_INTERVAL, Lines


class LineProgress(ProgressBar):
    """Lightning's progress for a fit, test or predict whose output goes to a file or pipe: a line
    every ``interval`` seconds with the epoch, batch and the progress-bar metrics, and one when a fit
    or test ends. The command line puts it in place of the configs' RichProgressBar off a terminal."""

    def __init__(self, interval: float = LINE_INTERVAL) -> None:
        super().__init__()
        self.interval = interval
        self._enabled = True
        self._lines = Lines(interval)

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @property
    def is_enabled(self) -> bool:
        return self._enabled and self.trainer.is_global_zero

    def _say(self, text: str, force: bool = False) -> None:
        if self.is_enabled:
            self._lines(text, force)

    def _metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> str:
        shown = {k: v for k, v in self.get_metrics(trainer, pl_module).items() if k != "v_num"}
        return "  ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in shown.items())

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        epochs = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        self._say(f"epoch {trainer.current_epoch + 1}{epochs}, batch {batch_idx + 1}/{self.total_train_batches}  {self._metrics(trainer, pl_module)}")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._say(f"fit ended after {trainer.current_epoch} epochs  {self._metrics(trainer, pl_module)}", force=True)

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._say(f"testing, batch {batch_idx + 1}/{trainer.num_test_batches[dataloader_idx]}")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._say("test done", force=True)

    def on_predict_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._say(f"predicting, batch {batch_idx + 1}/{trainer.num_predict_batches[dataloader_idx]}")

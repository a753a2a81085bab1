"""``ScoreWriter``: writes the predictor's score for every architecture after ``predict``."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter


class ScoreWriter(BasePredictionWriter):
    """CSV ``row,key,score`` (benchmark row, canonical arch key, predicted score), written
    atomically at the end of ``predict``; a higher score means a better predicted arch."""

    def __init__(self, output: str = "predictions/scores.csv") -> None:
        super().__init__(write_interval="epoch")
        self.output = Path(output)

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Any, batch_indices: Any) -> None:
        rows = torch.cat([p["index"] for p in predictions]).tolist()
        scores = torch.cat([p["score"] for p in predictions]).tolist()
        keys = trainer.datamodule.benchmark.keys
        self.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.output.with_name(f".{self.output.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["row", "key", "score"])
                writer.writerows((r, keys[r], f"{s:.6g}") for r, s in zip(rows, scores))
            os.replace(tmp, self.output)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        print(f"wrote {len(rows):,} scores to {self.output}")

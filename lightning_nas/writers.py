"""``ScoreWriter``: writes the predictor's score for every architecture after ``predict``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from lightning_nas.atomic import atomic_open


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
        with atomic_open(self.output, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["row", "key", "score"])
            writer.writerows((r, keys[r], f"{s:.6g}") for r, s in zip(rows, scores))
        print(f"wrote {len(rows):,} scores to {self.output}")

"""The score file of a predictor: ``ScoreWriter`` writes every architecture's score after
``predict``; :func:`read_scores` reads one back (e.g. as a teacher's pseudo-labels)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from lightning_nas.utils.atomic import atomic_open
from lightning_nas.utils.errors import LightningNASError

COLUMNS = ["row", "key", "score", "seen_label"]


class ScoreWriter(BasePredictionWriter):
    """CSV ``row,key,score,seen_label`` (benchmark row, canonical arch key, predicted score, 1
    for the archs whose labels the predictor was fit on: training and validation), written
    atomically at the end of ``predict``; a higher score means a better predicted arch."""

    def __init__(self, output: str = "predictions/scores.csv") -> None:
        super().__init__(write_interval="epoch")
        self.output = Path(output)

    def write_on_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, predictions: Any, batch_indices: Any) -> None:
        rows = torch.cat([p["index"].cpu() for p in predictions])
        scores = torch.cat([p["score"].cpu() for p in predictions])
        if trainer.world_size > 1:  # under DDP each device scored its share: one file holds them all
            shares: list[Any] = [None] * trainer.world_size
            torch.distributed.all_gather_object(shares, (rows, scores))
            if not trainer.is_global_zero:
                return
            rows, scores = (torch.cat(part) for part in zip(*shares))
        order = torch.argsort(rows)  # row order, on any number of devices
        rows, scores = rows[order].tolist(), scores[order].tolist()
        datamodule = trainer.datamodule
        keys = datamodule.benchmark.keys
        seen = set(datamodule.split.labelled_rows().tolist())
        with atomic_open(self.output, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            # 9 significant digits keep a float32 score exact; at 6, one in eight of 423,624 unit-variance scores tied another
            writer.writerows((r, keys[r], f"{s:.9g}", int(r in seen)) for r, s in zip(rows, scores))
        left_out = len(keys) - len(rows)
        why = f" (the other {left_out:,} archs have no proxy scores in {datamodule.hparams.proxy_table})" if left_out else ""
        print(f"wrote {len(rows):,} scores to {self.output}{why}")


def read_scores(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A file written by :class:`ScoreWriter` -> arrays ``row``, ``key``, ``score``, ``seen_label``."""
    try:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header != COLUMNS:
                raise LightningNASError(f"{path} is not a score file from `predict` (header {header}, expected {','.join(COLUMNS)}); write it again with `python -m lightning_nas predict`")
            lines = list(reader)
    except OSError as exc:
        raise LightningNASError(f"cannot read score file {path}: {exc}") from exc
    short = next((n for n, line in enumerate(lines, start=2) if len(line) != len(COLUMNS)), None)
    if short is not None:
        raise LightningNASError(f"{path}, line {short}: expected {len(COLUMNS)} fields ({','.join(COLUMNS)}); write the file again with `python -m lightning_nas predict`")
    columns = list(zip(*lines)) or [()] * len(COLUMNS)
    try:
        table = {
            "row": np.array(columns[0], dtype=np.int64),
            "key": np.array(columns[1], dtype=str),
            "score": np.array(columns[2], dtype=np.float64),
            "seen_label": np.array(columns[3], dtype=np.int64).astype(bool),
        }
    except ValueError as exc:
        raise LightningNASError(f"{path}: malformed value ({exc}); write the file again with `python -m lightning_nas predict`") from exc
    bad = np.flatnonzero(~np.isfinite(table["score"]))
    if len(bad):
        raise LightningNASError(f"{path}: scores are NaN or infinite on lines {(bad[:10] + 2).tolist()} (a diverged predictor?)")
    return table

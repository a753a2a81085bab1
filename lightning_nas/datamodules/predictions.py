"""The score file of a predictor: ``ScoreWriter`` writes every architecture's score after ``predict``;
:func:`read_scores` reads one back (e.g. as a teacher's pseudo-labels).

Beside ``<name>.csv`` a record ``<name>.csv.json`` says which split the predictor was fit on, taken from
its checkpoint (never from the flags of the ``predict`` command, which may differ), and a checksum of
the file. A self-training fit compares that split with its own and refuses a teacher that saw labels of
archs it tests on; a damaged file is refused instead of read as numbers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter

from lightning_nas.datamodules.split import SPLIT_SETTINGS, labelled_rows_of, rows_digest
from lightning_nas.utils.atomic import atomic_open
from lightning_nas.utils.checkpoints import datamodule_settings
from lightning_nas.utils.errors import LightningNASError

COLUMNS = ["row", "key", "score", "seen_label"]


def record_path(path: str | os.PathLike) -> Path:
    """Where the record of the score file ``path`` is kept."""
    path = Path(path)
    return path.with_name(path.name + ".json")


class ScoreWriter(BasePredictionWriter):
    """CSV ``row,key,score,seen_label`` (benchmark row, canonical arch key, predicted score, 1 for the
    archs whose labels the predictor was fit on: training and validation, by the split its checkpoint
    records), and its record (see the module docstring), written atomically at the end of ``predict``; a
    higher score means a better predicted arch."""

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
        checkpoint = getattr(trainer, "ckpt_path", None)
        settings = datamodule_settings(checkpoint) if checkpoint else None
        if settings is None:  # predicted in Python on the model just fit: the datamodule's split is the fit's
            settings, labelled = dict(datamodule.hparams), datamodule.split.labelled_rows()
        else:
            labelled = labelled_rows_of(settings, datamodule.benchmark)
        seen = set(labelled.tolist())
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        # 9 significant digits keep a float32 score exact; at 6, one in eight of 423,624 unit-variance scores tied another
        writer.writerows((r, keys[r], f"{s:.9g}", int(r in seen)) for r, s in zip(rows, scores))
        content = text.getvalue().encode()
        with atomic_open(self.output, "wb") as f:
            f.write(content)
        record = {
            "space": datamodule.benchmark.space.name,
            "split": {k: settings.get(k) for k in SPLIT_SETTINGS},
            "labelled": len(labelled),
            "labelled_digest": rows_digest(labelled),
            "checkpoint": str(checkpoint) if checkpoint else None,
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        with atomic_open(record_path(self.output), "w") as f:
            json.dump(record, f, indent=1)
        left_out = len(keys) - len(rows)
        why = f" (the other {left_out:,} archs have no proxy scores in {datamodule.hparams.proxy_table})" if left_out else ""
        print(f"wrote {len(rows):,} scores to {self.output}{why}")


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    """The record of the score file ``path`` (the split its predictor was fit on, the file's checksum)."""
    record = record_path(path)
    try:
        content = json.loads(record.read_text())
    except FileNotFoundError:
        raise LightningNASError(f"{path} has no record {record.name} of the split its predictor was fit on (written by an older release?): write it again with `python -m lightning_nas predict`") from None
    except (OSError, ValueError) as exc:
        raise LightningNASError(f"{record}: unreadable ({exc}); write the scores again with `python -m lightning_nas predict`") from exc
    if not isinstance(content, dict) or not {"split", "labelled_digest", "sha256"} <= set(content):
        raise LightningNASError(f"{record} is not the record of a score file; write the scores again with `python -m lightning_nas predict`")
    return content


def read_scores(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """A file written by :class:`ScoreWriter` -> arrays ``row``, ``key``, ``score``, ``seen_label``, checked
    against the checksum its record holds."""
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise LightningNASError(f"cannot read score file {path}: {exc}") from exc
    text = content.decode(errors="replace")
    header = next(csv.reader([text.partition("\n")[0]]), None)
    if header != COLUMNS:
        raise LightningNASError(f"{path} is not a score file from `predict` (header {header}, expected {','.join(COLUMNS)}); write it again with `python -m lightning_nas predict`")
    if hashlib.sha256(content).hexdigest() != read_record(path)["sha256"]:
        raise LightningNASError(f"{path} does not match the checksum written with it (damaged or edited); write it again with `python -m lightning_nas predict`")
    lines = list(csv.reader(io.StringIO(text)))[1:]
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

"""Where a run's own files go (its plots, a ``SearchCallback``'s search), and its plots into its loggers:
``<default_root_dir>/<kind>/<run>``.

A run is named after its logger (``lightning_nas-5jbfu7sa`` for W&B, ``lightning_logs-3`` for CSV),
so its files sit beside the logs they belong to. A run without a logger is named after the time it
first asks, e.g. ``run-20261205-070812``: under one fixed name, a second run would overwrite the
first one's plot, and its search would find the first one's saved state (another predictor's) and stop.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path

import lightning as L

_UNLOGGED_RUNS: weakref.WeakKeyDictionary[L.Trainer, str] = weakref.WeakKeyDictionary()


def run_folder(trainer: L.Trainer, kind: str) -> Path:
    """``<default_root_dir>/<kind>/<run>``: the same run name for every kind of file of one trainer."""
    logger = trainer.logger
    if logger is not None:
        name = f"{logger.name}-{logger.version}"
    else:
        name = _UNLOGGED_RUNS.get(trainer) or _UNLOGGED_RUNS.setdefault(trainer, _new_run_name())
    return Path(trainer.default_root_dir) / kind / name


def _new_run_name() -> str:
    """``run-<date>-<time>``, with a count when this process already named a run in that second."""
    stamp = time.strftime("run-%Y%m%d-%H%M%S")
    taken = set(_UNLOGGED_RUNS.values())
    return next(name for name in (stamp, *(f"{stamp}-{n}" for n in range(2, len(taken) + 2))) if name not in taken)


def log_image(trainer: L.Trainer, key: str, path: Path) -> None:
    """A run's plot into each of its loggers that takes images (W&B does; CSV keeps only the file)."""
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):
            logger.log_image(key=key, images=[str(path)])

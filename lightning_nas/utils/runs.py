"""Where a run's own files go, and its plots into its loggers.

Every run writes under ``<default_root_dir>/runs/<config>/<run>/``: the config it ran with
(``config.yaml``), its plots and a ``SearchCallback``'s search. ``<config>`` names what ran (the
config file's name on the command line, else the predictor's class), ``<run>`` when it started
(``20261207-101500``, with the logger's version beside it, e.g. a W&B run id, so a folder leads to
its dashboard). Two runs never share a folder: a second run of the same config would otherwise
overwrite the first one's plots, and its search would find the first one's saved state.
"""

from __future__ import annotations

import time
import weakref
from pathlib import Path

import lightning as L

_RUNS: weakref.WeakKeyDictionary[L.Trainer, Path] = weakref.WeakKeyDictionary()
#: What :func:`run_folder` names the folder of a trainer's runs by (set by the command line to the config's name).
CONFIG_ATTRIBUTE = "lightning_nas_config"


def run_folder(trainer: L.Trainer) -> Path:
    """``<default_root_dir>/runs/<config>/<run>``: the same folder for every file of one trainer's run."""
    if trainer not in _RUNS:
        module = getattr(trainer, "lightning_module", None)
        config = getattr(trainer, CONFIG_ATTRIBUTE, None) or (type(module).__name__ if module is not None else "run")
        logger = getattr(trainer, "logger", None)
        if logger is not None and logger.version is None:
            logger.experiment  # noqa: B018 - starts the run (W&B names it only then); the fit would start it next anyway
        suffix = f"-{logger.version}" if logger is not None and logger.version is not None else ""
        folder = Path(trainer.default_root_dir) / "runs" / config
        _RUNS[trainer] = _new_run(folder, suffix)
    return _RUNS[trainer]


def _new_run(folder: Path, suffix: str) -> Path:
    """``folder/<date>-<time><suffix>``, with a count when another run took that name in the same second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    taken = set(_RUNS.values())
    names = (f"{stamp}{suffix}", *(f"{stamp}-{n}{suffix}" for n in range(2, len(taken) + 3)))
    return next(folder / name for name in names if folder / name not in taken and not (folder / name).exists())


def log_image(trainer: L.Trainer, key: str, path: Path) -> None:
    """A run's plot into each of its loggers that takes images (W&B does; CSV keeps only the file)."""
    for logger in trainer.loggers:
        if hasattr(logger, "log_image"):
            logger.log_image(key=key, images=[str(path)])

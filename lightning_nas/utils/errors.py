"""Exceptions raised by lightning_nas.

Every error names the file or architecture at fault and says what to do, so a user never has
to read a numpy traceback to find out which input was bad.
"""

from __future__ import annotations

import numbers
import os
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported when a device is checked: the CLI's --help stays instant
    import torch


class LightningNASError(Exception):
    """Base class of every error lightning_nas raises on purpose."""


class InvalidArgument(LightningNASError, ValueError):
    """A setting (from a config, the command line or a call) has a value lightning_nas cannot use."""


class InvalidArchitecture(LightningNASError, ValueError):
    """An architecture is not a member of its search space (cycle, too many edges, bad op, ...)."""


class BenchmarkFileError(LightningNASError, OSError):
    """A benchmark source or cache file is missing, truncated, corrupt or has the wrong fields."""


class OutputError(LightningNASError, OSError):
    """A file lightning_nas writes (cache, score table, search state, predictions) cannot be
    written: its folder is not writable, a file stands where a folder should be, the disk is full."""


def require_at_least(name: str, value: float, least: float) -> None:
    """:class:`InvalidArgument` naming the setting unless ``value >= least``."""
    if not value >= least:
        raise InvalidArgument(f"{name} must be at least {least}, got {value}")


def require_positive(name: str, value: float) -> None:
    """:class:`InvalidArgument` naming the setting unless ``value > 0`` (a learning rate)."""
    if not value > 0:
        raise InvalidArgument(f"{name} must be positive, got {value}")


def require_fraction(name: str, value: float) -> None:
    """:class:`InvalidArgument` naming the setting unless ``0 <= value < 1`` (a dropout
    probability, a moving average's decay)."""
    if not 0 <= value < 1:
        raise InvalidArgument(f"{name} must be in [0, 1), got {value}")


def require_integer(name: str, value: int) -> None:
    """:class:`InvalidArgument` naming the setting unless ``value`` is an integer (a count or a
    size: 2.5 would otherwise fail deep inside numpy or torch)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidArgument(f"{name} must be an integer, got {value!r}")


def require_distinct(name: str, values: Sequence[str | int]) -> None:
    """:class:`InvalidArgument` naming the setting and the repeats unless ``values`` are distinct
    (a feature or proxy listed twice would count twice)."""
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise InvalidArgument(f"{name} names {', '.join(map(repr, repeated))} more than once; list each once")


def require_count(name: str, value: int, least: int) -> None:
    """:func:`require_integer` and :func:`require_at_least` in one."""
    require_integer(name, value)
    require_at_least(name, value, least)


class CheckpointError(LightningNASError, OSError):
    """A checkpoint file cannot be read, or was not written by ``fit`` for the settings at hand."""


class UnknownMetric(LightningNASError, KeyError):
    """A benchmark was asked for a dataset/metric/epoch budget it does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0])


def require_device(name: str, device: str | torch.device) -> torch.device:
    """``device`` as a torch device this machine has, with its index (``cuda`` -> ``cuda:0``),
    or :class:`InvalidArgument` naming the setting."""
    import torch

    try:
        device = torch.device(device)
    except RuntimeError:
        raise InvalidArgument(f"{name} {str(device)!r} is not a torch device; e.g. cpu, cuda, cuda:1") from None
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if (device.index or 0) >= count:
            raise InvalidArgument(f"{name} {device}: torch sees {count} CUDA device(s) on this machine")
        device = torch.device("cuda", torch.cuda.current_device() if device.index is None else device.index)
    return device


def require_npz(path: str | os.PathLike) -> None:
    """``path`` must be a zip archive, as every .npz is: numpy would try anything else as a
    pickle and answer with advice about ``allow_pickle``."""
    if zipfile.is_zipfile(path):
        return
    with open(path, "rb") as f:
        start = f.read(8)
    damaged = start.startswith(b"PK")  # a zip's first bytes, without the directory at its end
    what = "a truncated or damaged .npz (its zip directory is missing)" if damaged else f"not an .npz (an .npz is a zip archive; this file starts with {start!r})"
    raise BenchmarkFileError(f"{path}: {what}")

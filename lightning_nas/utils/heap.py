"""Giving freed heap memory back to the operating system while a whole space is scored.

Scoring frees large tensors every batch, while small ones that live to the end (the metrics'
per-batch scores, ``predict``'s outputs) are allocated in between. glibc serves both from one
heap: the small ones pin the holes the large ones leave, and glibc keeps those pages instead of
returning them, a different amount each run: in the test phase of ``fit --config
renas_101.yaml``, up to 1.9 GiB. glibc's ``malloc_trim`` returns free pages anywhere in the heap;
the next batches fault the pages they reuse back in, so :class:`HeapTrim` trims only once the
process has grown by ``slack`` since it last did.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable
from functools import cache
from typing import Any

import lightning as L


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # another C library (musl)
        return None


def trim_heap() -> None:
    """Return the heap's free pages to the OS; a no-op where glibc is not the C library."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def resident_bytes() -> int:
    """This process's resident memory (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class HeapTrim(L.Callback):
    """Trims the heap during ``test`` and ``predict`` whenever the process has grown by more than
    ``slack`` bytes since the epoch began or since the last trim."""

    def __init__(self, slack: int = 256 * 2**20) -> None:
        self.slack = slack
        self.floor = 0  # resident bytes to grow from; 0 where there is no glibc to trim

    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start()

    def on_predict_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start()

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.check()

    def on_predict_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        self.check()

    def start(self) -> None:
        self.floor = resident_bytes() if _malloc_trim() is not None else 0

    def check(self) -> None:
        if self.floor and resident_bytes() - self.floor > self.slack:
            trim_heap()
            self.floor = resident_bytes()

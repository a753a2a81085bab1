"""Vectorised functions over many architectures, run a block of rows at a time.

The whole-space computations (NB101's 423,624 cells) build several temporaries per row, e.g. the
[N, 9, 7] float64 cost arrays of every cell or the [N, 7, 364] path counts; at once they would
take 0.5-4 GB. A block of rows at a time bounds them, and the results are the same arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

ROWS = 32_768  # rows per block

Result = TypeVar("Result", np.ndarray, dict[str, np.ndarray])


def in_row_blocks(fn: Callable[..., Result], *arrays: np.ndarray, rows: int = ROWS, advance: Callable[[int], None] | None = None) -> Result:
    """``fn(*arrays)`` computed on consecutive blocks of rows (the leading axis) and joined: an
    array, or a dict of arrays joined per key. ``fn`` must treat rows independently. No rows still
    make one (empty) call, so the result has its usual trailing shape. ``advance(n)`` hears of each
    block's ``n`` rows (a progress bar)."""
    parts = []
    for start in range(0, max(len(arrays[0]), 1), rows):
        parts.append(fn(*(a[start : start + rows] for a in arrays)))
        if advance is not None:
            advance(min(rows, len(arrays[0]) - start))
    if isinstance(parts[0], dict):
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return np.concatenate(parts)

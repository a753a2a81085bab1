"""What a benchmark table must be before anything reads it: the checks every reader runs on the table it
built from a file, against what the benchmark publishes.

A table that fails is a :class:`BenchmarkFileError` naming the file, the column or arch and what is wrong:
a truncated official file is not a smaller benchmark, a value out of range is not a number to rank by, a
key that does not name its structure is not that arch's record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from lightning_nas.utils.errors import BenchmarkFileError

#: The name of the settings that accept a table with fewer archs than the benchmark has.
PARTIAL_HINT = "pass partial=True (create(..., partial=True)) to load a partial table on purpose"


def require_count(source: str | os.PathLike, found: int, published: int, what: str, partial: bool) -> None:
    """``found`` archs where the benchmark publishes ``published``: fewer only when ``partial``, never more."""
    if found > published or (found < published and not partial):
        cut = "the file is cut short or not the benchmark's" if found < published else "the file holds more than the benchmark"
        raise BenchmarkFileError(f"{source}: {found:,} {what}, the benchmark has {published:,}: {cut}" + (f"; {PARTIAL_HINT}" if found < published else ""))


def require_unique(source: str | os.PathLike, keys: np.ndarray) -> None:
    """Every arch once: a key twice would be two records of one arch."""
    unique, counts = np.unique(keys, return_counts=True)
    if len(unique) != len(keys):
        raise BenchmarkFileError(f"{source}: arch {str(unique[counts > 1][0])!r} is listed {int(counts.max())} times; each arch has one record")


def require_in_range(source: str | os.PathLike, name: str, values: np.ndarray, keys: Sequence, low: float, high: float, missing_allowed: bool = False) -> None:
    """Values of column ``name`` in ``[low, high]`` (NaN only where ``missing_allowed``: a column that covers some archs)."""
    values = np.asarray(values)
    if values.dtype.kind not in "fiu":
        raise BenchmarkFileError(f"{source}: column {name!r} is not numeric (dtype {values.dtype})")
    as_float = values.astype(np.float64)
    bad = (as_float < low) | (as_float > high) | np.isinf(as_float) | (np.isnan(as_float) & (not missing_allowed))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise BenchmarkFileError(
            f"{source}: {name} of arch {str(keys[row])!r} (row {row}) is {float(as_float[row])!r}, outside {low:g}..{high:g}"
            + ("" if missing_allowed else " (and no arch may lack it)") + f"; {int(bad.sum()):,} such values in all"
        )


def require_valid_structure(source: str | os.PathLike, invalid: np.ndarray, keys: Sequence, reason: str) -> None:
    """No row whose structure arrays are not an arch of the space (``invalid``: a mask from the space)."""
    if invalid.any():
        row = int(np.flatnonzero(invalid)[0])
        raise BenchmarkFileError(f"{source}: the structure of arch {str(keys[row])!r} (row {row}) is not a valid arch ({reason}); {int(invalid.sum()):,} such rows in all")


#: The range a column must lie in, by the kind of metric its name holds (accuracies in percent).
RANGES = (("acc", 0.0, 100.0), ("loss", 0.0, 1e4), ("time", 0.0, 1e8), ("params", 1.0, 1e10), ("flops", 1.0, 1e14), ("latency", 0.0, 1e6))


def require_sane_columns(source: str | os.PathLike, columns: dict[str, np.ndarray], keys: Sequence, may_be_missing: Callable[[str], bool]) -> None:
    """Every column in the range of its kind of metric (:data:`RANGES`), without a missing value unless
    ``may_be_missing(name)`` (a column some archs lack by design, e.g. NB101's 30k single-run validation)."""
    for name, values in columns.items():
        metric = name.split("/", 1)[-1].split("@")[0]
        low, high = next(((lo, hi) for kind, lo, hi in RANGES if kind in metric), (-np.inf, np.inf))
        require_in_range(source, name, values, keys, low, high, may_be_missing(name))

"""What several perf scripts share: where the test-only data lives, and the DARTS rows' percentile."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: the project's shared data beside the checkout (NASLib's published scores and the DARTS subset: test and perf data, not shipped)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def percentile_among(values: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Each value's percentile in ``population``: the percent of it at or below the value (a DARTS cell's
    validation accuracy among NAS-Bench-301's 1,218 published cells)."""
    return np.searchsorted(np.sort(population), values, side="right") / len(population) * 100

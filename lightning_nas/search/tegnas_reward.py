"""TEGNAS's REINFORCE reward: how much each indicator improved on the previous arch, on the scale of its recent values."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from lightning_nas.utils.errors import InvalidArgument, require_count

#: TEGNAS's guard against a buffer whose values are all equal (``te_reward_generator.py``).
EPSILON = 1e-6


class BufferedChangeReward:
    """The reward TEGNAS's REINFORCE learns from (Chen et al. 2021, ``Buffer_Reward_Generator``): for each
    indicator, its value on this arch minus its value on the previous one, divided by the range of its last
    ``size`` values (+1e-6), summed over the indicators. The first arch is rewarded 0.

    Changes over a short buffer, not raw values, so that indicators of very different scales (an NTK condition
    number in the thousands, a kernel-regression error near 1) weigh alike and the reward stays informative as
    the policy's archs improve. Values are this project's proxy scores, oriented higher = better, so TEGNAS's
    per-indicator sign is already applied. An arch an indicator could not score (-inf or NaN: a singular kernel)
    takes the worst value that indicator has had so far, as TEGNAS resets its "bad" archs to the buffer's worst.

    Args:
        size: values per indicator the range is taken over (TEGNAS's ``te_buffer_size``, 10).
    """

    def __init__(self, size: int = 10) -> None:
        require_count("buffer_size", size, 2)
        self.size = size
        self.recent: deque[np.ndarray] = deque(maxlen=size)
        #: per indicator, the worst finite value so far (+inf before the first)
        self.worst: np.ndarray | None = None

    def __call__(self, values: Sequence[float]) -> float:
        """The reward of the arch with these indicator ``values`` (one per indicator, always in the same order)."""
        row = np.asarray(values, dtype=np.float64)
        if self.worst is not None and row.shape != self.worst.shape:
            raise InvalidArgument(f"{len(row)} indicator values after {len(self.worst)} for every earlier arch: give the same indicators each time")
        finite = np.where(np.isfinite(row), row, np.inf)
        self.worst = finite if self.worst is None else np.minimum(self.worst, finite)
        self.recent.append(row)
        if len(self.recent) < 2:
            return 0.0
        window = np.array(self.recent)
        window = np.where(np.isfinite(window), window, self.worst)
        known = np.isfinite(self.worst)  # an indicator that never scored an arch says nothing
        change = (window[-1] - window[-2])[known] / (window.max(0) - window.min(0) + EPSILON)[known]
        return float(change.sum())

    def state_dict(self) -> dict[str, Any]:
        return {"recent": list(self.recent), "worst": self.worst}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.recent = deque(state["recent"], maxlen=self.size)
        self.worst = state["worst"]

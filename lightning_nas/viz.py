"""Plots a person can read: predicted-vs-true scatter (more to come: curves, search trajectories)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import kendalltau, rankdata  # noqa: E402

MAX_POINTS = 20_000


def predicted_vs_true(scores: np.ndarray, targets: np.ndarray, path: str | Path, title: str = "") -> Path:
    """Scatter of true accuracy against predicted *rank* (scores are only meaningful as an
    order), on a random subsample so that 423k points stay readable. Returns the PNG path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tau = kendalltau(scores, targets).statistic
    rank = rankdata(scores) / len(scores)
    keep = np.random.default_rng(0).permutation(len(scores))[:MAX_POINTS]
    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    ax.scatter(rank[keep], targets[keep], s=3, alpha=0.35, linewidths=0)
    ax.set_xlabel("predicted rank (quantile)")
    ax.set_ylabel("true accuracy (%)")
    lo = np.percentile(targets, 1)
    ax.set_ylim(lo - 1, targets.max() + 0.5)
    ax.set_title(f"{title}  Kendall tau = {tau:.3f}  (n = {len(scores):,})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

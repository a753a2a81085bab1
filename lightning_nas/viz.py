"""Plots a person can read: training curves, predicted-vs-true scatter, search trajectories."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import kendalltau, rankdata  # noqa: E402

from lightning_nas.utils.atomic import atomic_open  # noqa: E402

MAX_POINTS = 20_000


def save(fig: plt.Figure, path: Path, **kwargs) -> None:
    """``fig`` as a PNG at ``path``, all or nothing (a full disk leaves no half-written plot), and closed."""
    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", **kwargs)
    finally:
        plt.close(fig)


def training_curves(history: dict[str, list[tuple[float, float]]], path: str | Path, title: str = "") -> Path:
    """Training loss (left) and validation metrics (right) against epochs, from
    ``history[name] = [(epoch, value), ...]`` (``train/...`` names go left, the rest right), so a
    fit logged offline, or to CSV, can be judged at a glance: still improving, or overfitting. The
    best ``val/ktau`` (the checkpoint the configs keep) is marked. Returns the PNG path."""
    path = Path(path)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=120)
    for name, points in sorted(history.items()):
        if not points:
            continue
        epochs, values = zip(*points)
        ax = left if name.startswith("train/") else right
        ax.plot(epochs, values, marker="o" if len(points) <= 30 else None, ms=3, label=name)
    best = history.get("val/ktau")
    if best:
        epoch, value = max(best, key=lambda point: point[1])
        right.plot([epoch], [value], marker="*", ms=12, color="k", ls="none", label=f"best val/ktau {value:.3f} (epoch {epoch:g})")
    left.set_ylabel("training loss (mean per step)")
    right.set_ylabel("validation metric")
    for ax in (left, right):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)
    return path


def predicted_vs_true(scores: np.ndarray, targets: np.ndarray, path: str | Path, title: str = "") -> Path:
    """True accuracy (left) and true rank (right) against predicted *rank* (scores are only
    meaningful as an order), on a random subsample so that 423k points stay readable. The rank
    panel is what Kendall tau measures: the spread around its diagonal, uniform over the space,
    where the accuracy panel squeezes the crowded top. Returns the PNG path."""
    path = Path(path)
    tau = kendalltau(scores, targets).statistic
    rank, true_rank = rankdata(scores) / len(scores), rankdata(targets) / len(targets)
    keep = np.random.default_rng(0).permutation(len(scores))[:MAX_POINTS]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5), dpi=120)
    left.scatter(rank[keep], targets[keep], s=3, alpha=0.35, linewidths=0)
    lo = np.percentile(targets, 1)
    left.set_ylim(lo - 1, targets.max() + 0.5)
    below = int((targets < lo - 1).sum())
    left.set_ylabel("true accuracy (%)" + (f"; {below:,} lower ones not shown" if below else ""))
    right.scatter(rank[keep], true_rank[keep], s=3, alpha=0.35, linewidths=0)
    right.plot([0, 1], [0, 1], color="k", lw=0.8, ls="--")
    right.set_ylabel("true rank (quantile)")
    for ax in (left, right):
        ax.set_xlabel("predicted rank (quantile)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{title}  Kendall tau = {tau:.3f}  (n = {len(scores):,})")
    fig.tight_layout()
    save(fig, path)
    return path


def search_trajectories(
    curves: dict[str, np.ndarray],
    path: str | Path,
    title: str = "",
    reference: float | None = None,
    selected_on: str | None = None,
    labelled: int = 0,
) -> Path:
    """Test accuracy of the best arch so far vs queries, one mean ± std band per strategy.

    ``curves[name]`` is [seeds, queries] (reported accuracy of the best-so-far arch after each query);
    ``reference`` draws a dashed line (e.g. the test accuracy of the best-validation arch);
    ``selected_on`` names the column "best" is judged on, shown under the title: judged on validation
    accuracy, a curve can step down when a better-validating arch tests worse. ``labelled``: the
    first queries of the predictor-guided curves were the predictor's labelled archs, marked by a
    dotted line where their search starts.
    """
    path = Path(path)
    fig, ax = plt.subplots(figsize=(6, 4.6), dpi=120)
    low = []
    for name, runs in curves.items():
        runs = np.asarray(runs, dtype=float)
        queries = np.arange(1, runs.shape[1] + 1)
        mean, std = _nan_mean_std(runs)  # NaN: no arch within a search's constraint queried yet
        ax.plot(queries, mean, label=f"{name} ({mean[-1]:.2f})")
        ax.fill_between(queries, mean - std, mean + std, alpha=0.2)
        low.append(np.nanmin(mean[len(mean) // 10 :]))
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=0.8, label=f"best-val arch ({reference:.2f})")
    if labelled:
        ax.axvline(labelled + 0.5, color="grey", ls=":", lw=1, label=f"guided search starts (queries 1-{labelled}: the predictor's labelled archs)")
    top = max(np.nanmax(np.asarray(r, dtype=float)) for r in curves.values())
    ax.set_ylim(min(low) - 0.5, top + 0.3)
    ax.set_xlabel("queries (distinct archs evaluated)")
    ax.set_ylabel("test accuracy of the best arch so far (%)")
    seeds = len(next(iter(curves.values())))
    heading = f"{title}  ({seeds} seed{'s' if seeds != 1 else ''})"
    ax.set_title(heading + (f"\nbest chosen on {selected_on}" if selected_on else ""), fontsize=10 if selected_on else None)
    ax.grid(alpha=0.3)
    # below the axes: inside, five strategies' entries covered the curves they name
    entries = len(ax.get_legend_handles_labels()[1])
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2 if entries > 2 else 1, frameon=False)
    fig.tight_layout()
    save(fig, path, bbox_inches="tight")
    return path


def _nan_mean_std(runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over runs (axis 0) of the values that exist; NaN where no run has one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column is NaN, as it should be
        return np.nanmean(runs, 0), np.nanstd(runs, 0)


def on_time_grid(seconds: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``values`` (best so far after each query, spent ``seconds``) read at each ``grid`` time: the value of the
    last query finished by then (NaN before the first)."""
    at = np.searchsorted(seconds, grid, side="right") - 1
    return np.where(at >= 0, np.asarray(values, dtype=float)[np.maximum(at, 0)], np.nan)


def search_trajectories_over_time(
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]], budget: float, path: str | Path, title: str = "", selected_on: str | None = None
) -> Path:
    """Test accuracy of the best arch so far against simulated training seconds (log axis, as NATS-Bench draws
    them), one mean ± std band per strategy over its runs; ``runs[name]`` holds (seconds, best-so-far) per run."""
    path = Path(path)
    fig, ax = plt.subplots(figsize=(6, 4.6), dpi=120)
    start = min(float(s[0]) for pairs in runs.values() for s, _ in pairs)
    grid = np.geomspace(max(start, 1.0), budget, 200)
    low, high = [], []
    for name, pairs in runs.items():
        table = np.stack([on_time_grid(s, v, grid) for s, v in pairs])
        mean, std = _nan_mean_std(table)  # NaN: a run's first query not finished yet
        ax.plot(grid, mean, label=f"{name} ({mean[-1]:.2f}, {len(pairs)} runs)")
        ax.fill_between(grid, mean - std, mean + std, alpha=0.2)
        late = grid >= budget / 20  # the last 95 % of the budget in view, not the first runs' chance level and spread
        low.append(np.nanmin(mean[late]) - 1)
        high.append(np.nanmax((mean + std)[late]) + 0.3)
    ax.set_xscale("log")
    ax.set_ylim(min(low), min(max(high), 100))
    ax.set_xlabel("simulated training time spent (s, log scale)")
    ax.set_ylabel("test accuracy of the best arch so far (%)")
    ax.set_title(title + (f"\nbest chosen on {selected_on}" if selected_on else ""), fontsize=10 if selected_on else None)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.tight_layout()
    save(fig, path, bbox_inches="tight")
    return path


def pareto_plot(
    space_cost: np.ndarray, space_accuracy: np.ndarray, fronts: dict[str, list[tuple[np.ndarray, np.ndarray]]], path: str | Path,
    cost_label: str, title: str = "",
) -> Path:
    """Accuracy against a cost: every arch of the space (grey), the space's own front by test accuracy (black
    steps) and, per search, the fronts it found (one marker set per run; ``fronts[name]`` holds (cost, test
    accuracy) per run)."""
    path = Path(path)
    fig, ax = plt.subplots(figsize=(6, 4.6), dpi=120)
    from lightning_nas.search.pareto import pareto_front  # here: importing the search package at the top would cycle through models

    shown = np.flatnonzero(space_accuracy > np.quantile(space_accuracy, 0.05))  # chance-level cells squash the axis
    ax.scatter(space_cost[shown], space_accuracy[shown], s=2, c="0.8", label="every arch")
    best = pareto_front(space_accuracy, space_cost)
    ax.step(space_cost[best], space_accuracy[best], where="post", color="k", lw=1, label="front of the space (test accuracy)")
    for (name, runs), marker in zip(fronts.items(), "os^Dv"):
        for i, (cost, accuracy) in enumerate(runs):
            ax.plot(cost, accuracy, marker=marker, ls="-", lw=0.6, ms=4, alpha=0.6, color=f"C{list(fronts).index(name)}",
                    label=f"{name} ({len(runs)} runs)" if i == 0 else None)
    ax.set_ylim(bottom=float(np.quantile(space_accuracy[shown], 0.01)) - 1)  # a chance-level arch at near-zero cost stays off the axis
    ax.set_xlabel(cost_label)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    save(fig, path, bbox_inches="tight")
    return path

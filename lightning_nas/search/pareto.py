"""Pareto mode: the archs that trade accuracy against a cost (latency on a device, FLOPs, params) best.

The search runs by the epsilon-constraint method: the budget is split evenly over ``points`` constrained
searches, ``cost <= limit`` for limits at the 1/points, 2/points, ... quantiles of the cost over the whole
space, each with the same strategy and scorer (so predictor- and proxy-guided searches run in Pareto mode
too). The front is taken over every arch the searches queried, by what the search knows (its selection
accuracy, and the cost, known for every arch), and reported with test accuracy.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lightning_nas.benchmarks.budget import QueryBudget
from lightning_nas.benchmarks.constraints import Constraint, Cost
from lightning_nas.search.base import Scorer, SearchResult, SearchStrategy, run_search
from lightning_nas.utils.atomic import atomic_open
from lightning_nas.utils.errors import require_count


def pareto_front(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both (higher accuracy, lower or equal cost), by increasing cost."""
    accuracy, cost = np.asarray(accuracy, dtype=np.float64), np.asarray(cost, dtype=np.float64)
    front, best = [], -np.inf
    for i in np.lexsort((-accuracy, cost)):  # by cost, the most accurate first among equal costs
        if accuracy[i] > best:
            front.append(int(i))
            best = accuracy[i]
    return np.array(front, dtype=np.int64)


def pareto_limits(values: np.ndarray, points: int) -> list[float]:
    """The ``points`` cost limits of a Pareto search: the k/points quantiles of ``values`` (k = 1..points)."""
    require_count("pareto points", points, 1)
    return [float(np.quantile(values, k / points)) for k in range(1, points + 1)]


@dataclass(frozen=True)
class ParetoArch:
    """One arch of a searched front."""

    key: str
    row: int
    cost: float
    select: float
    report: float


def pareto_search(
    strategy: SearchStrategy,
    make_budget: Any,
    cost: Cost,
    points: int,
    scorer: Scorer | None = None,
    seed: int = 0,
    initial: list[Any] = (),
    output: str | os.PathLike | None = None,
    save_every: int = 10,
    progress: bool = False,
) -> tuple[list[ParetoArch], list[SearchResult]]:
    """The front of accuracy against ``cost`` found by ``points`` searches under ``cost <= limit``, each with
    ``make_budget(constraint, share)`` (a fresh :class:`QueryBudget` for ``share`` = 1/points of the budget).
    Each search is resumable in ``output/<cost>_le_<limit>``; the front goes to ``output/pareto.json``."""
    probe: QueryBudget = make_budget(None, 1.0)
    benchmark, dataset = probe.benchmark, probe.dataset
    values = cost.values(benchmark, dataset)
    results = []
    for limit in pareto_limits(values, points):
        constraint = Constraint(cost, "<=", limit)
        folder = Path(output) / constraint.slug if output is not None else None
        results.append(run_search(strategy, make_budget(constraint, 1 / points), scorer, seed, initial, folder, save_every, progress))
    rows = {q.row: q for r in results for q in r.history}  # every queried arch, its last selection value
    queried = list(rows.values())
    index = pareto_front(np.array([q.select for q in queried]), values[[q.row for q in queried]])
    front = [ParetoArch(queried[i].key, queried[i].row, float(values[queried[i].row]), queried[i].select, queried[i].report) for i in index]
    if output is not None:
        with atomic_open(Path(output) / "pareto.json", "w") as f:
            json.dump({"cost": str(cost), "unit": cost.label, "dataset": dataset, "selected_on": results[0].select_column,
                       "reported": results[0].report_column, "front": [asdict(a) for a in front]}, f, indent=2)
    return front, results

"""The search loop shared by every strategy: scoring candidates, counting queries, saving state.

A :class:`SearchStrategy` proposes architectures through the space's ``sample`` / ``mutate`` /
``from_decisions`` interface only, so one strategy runs on NB101, NB201 and NATS-sss. When a
*scorer* (a trained predictor, a zero-cost proxy) is given, each step draws ``num_candidates``
proposals, the scorer ranks them and only the best one costs a benchmark query. Under a budget's
constraint (``latency:pixel3<=5``) only archs within it are proposed.

:func:`run_search` drives a strategy until its :class:`~lightning_nas.benchmarks.QueryBudget` is
spent (queries, or simulated training seconds) and makes it resumable: every ``save_every`` queries
the whole state (strategy, queried archs, trajectory, RNG) is written atomically, and a run started
with the same ``output`` folder continues from it, ending exactly as an uninterrupted run with the
same seed would. The budget's size may change on resume: no strategy looks at it, so a finished
search given a larger one continues as if it had been started with it.
"""

from __future__ import annotations

import abc
import csv
import hashlib
import json
import logging
import os
import pickle
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lightning_nas.benchmarks.budget import BudgetExhausted, Query, QueryBudget
from lightning_nas.spaces import SearchSpace
from lightning_nas.utils.atomic import atomic_open, make_folder
from lightning_nas.utils.errors import InvalidArgument, LightningNASError, require_count, require_distinct
from lightning_nas.utils.progress import progress_bar

Scorer = Callable[[list[Any]], np.ndarray]
"""Ranks candidate archs: ``scorer(archs) -> scores`` (higher = predicted better). A scorer may
carry a ``fingerprint`` string naming what it ranks by (see :func:`scorer_fingerprint`)."""

log = logging.getLogger(__name__)
STATE_VERSION = 3  # 2: the header records the columns selected on and reported, and the state a checksum; 3: simulated training
#: Steps in a row without a new query after which a search stops (the space is used up).
MAX_STALLED_STEPS = 1_000
#: Draws after which a proposal still outside the budget's constraint is an error (the constraint is too tight to sample).
MAX_INFEASIBLE_DRAWS = 10_000


class SearchStrategy(abc.ABC):
    """A search strategy; subclasses implement :meth:`step` (at most one new query per step).

    Args:
        num_candidates: proposals drawn per step when a scorer is given; the scorer's favourite
            unqueried one is queried. Without a scorer every step queries its single proposal.
    """

    def __init__(self, num_candidates: int = 100) -> None:
        require_count("num_candidates", num_candidates, 1)
        self.num_candidates = num_candidates
        self.space: SearchSpace
        self.budget: QueryBudget
        self.rng: np.random.Generator
        self.scorer: Scorer | None = None

    def bind(self, budget: QueryBudget, rng: np.random.Generator, scorer: Scorer | None) -> None:
        self.space, self.budget, self.rng, self.scorer = budget.space, budget, rng, scorer

    def reset(self, seen: Sequence[tuple[Any, float]]) -> None:
        """Start fresh; ``seen`` are (arch, selection accuracy) pairs queried before the search
        (e.g. the archs a predictor was trained on)."""

    @abc.abstractmethod
    def step(self) -> None:
        """Propose and query (at most one new arch)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    def config(self) -> dict[str, Any]:
        """Hyperparameters that must match for a saved state to be resumed."""
        return {"strategy": type(self).__name__, "num_candidates": self.num_candidates if self.scorer else 1}

    # -- helpers for subclasses -----------------------------------------------------------------
    def propose(self, draw: Callable[[], Any]) -> Any:
        """One arch from ``draw()``: without a scorer the first draw; with one, the best-scored
        of ``num_candidates`` distinct draws, preferring archs not yet queried. Only draws within the
        budget's constraint count."""
        if self.scorer is None:
            return self.draw_feasible(draw)
        candidates: dict[str, Any] = {}
        for _ in range(self.num_candidates):
            arch = self.draw_feasible(draw)
            candidates.setdefault(self.space.key(arch), arch)
        archs = list(candidates.values())
        fresh = [a for a in archs if not self.budget.seen(a)]
        archs = fresh or archs
        scores = np.asarray(self.scorer(archs), dtype=np.float64)
        if scores.shape != (len(archs),):
            raise LightningNASError(f"the scorer returned scores of shape {scores.shape} for {len(archs)} candidates: it must return one score per arch")
        if np.isnan(scores).any():  # argmax would silently pick the first NaN
            bad = archs[int(np.flatnonzero(np.isnan(scores))[0])]
            raise LightningNASError(f"the scorer returned NaN for {self.space.key(bad)!r}: it must score every candidate (-inf for the worst)")
        return archs[int(np.argmax(scores))]

    def draw_feasible(self, draw: Callable[[], Any]) -> Any:
        """The first of ``draw()``'s archs within the budget's constraint."""
        for _ in range(MAX_INFEASIBLE_DRAWS):
            arch = draw()
            if self.budget.feasible(arch):
                return arch
        raise LightningNASError(f"{MAX_INFEASIBLE_DRAWS:,} proposals in a row were outside {self.budget.constraint}: the constraint leaves this strategy too few archs to propose")


@dataclass
class SearchResult:
    """Outcome of one search: the best arch by selection accuracy and the whole trajectory."""

    strategy: str
    seed: int
    space: str
    dataset: str
    select_column: str
    report_column: str
    history: list[Query]
    #: Every benchmark column of the best arch (reporting only; not a query).
    best_metrics: dict[str, float]
    #: the budget, as a user reads it (``100 queries``, ``20000 s of simulated training (12-epoch runs)``)
    budget: str = ""
    #: the best arch in its space's own formats, written beside ``best.json`` (:meth:`SearchSpace.arch_files`: DARTS's genotype files)
    arch_files: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line (the generated repr printed every query of the trajectory: 35k characters at 100)."""
        return f"SearchResult({self.strategy}, seed {self.seed}, {self.space}/{self.dataset}: {self.summary()})"

    def summary(self) -> str:
        """Queries and the best arch with what it was selected on and, where that differs, its
        reported accuracy (NB101's compact table selects on what it reports)."""
        best = self.best
        reported = "" if self.report_column == self.select_column else f", {self.report_column} {best.best_report:.2f}"
        spent = f" ({best.seconds:.0f} s of simulated training)" if best.epochs else ""
        selected = self.select_column if not best.best_epochs else f"{self.select_column.rsplit('@', 1)[0]}@{best.best_epochs} (one run)"
        return f"{self.queries} queries{spent}, best {best.best_key} {selected} {best.best_select:.2f}{reported}"

    @property
    def best(self) -> Query:
        return self.history[-1]

    @property
    def queries(self) -> int:
        return len(self.history)

    def trajectory(self) -> np.ndarray:
        """Best-so-far reported (test) accuracy after each query."""
        return np.array([q.best_report for q in self.history])

    def seconds(self) -> np.ndarray:
        """Simulated training seconds spent after each query (0 for table lookups)."""
        return np.array([q.seconds for q in self.history])

    def save(self, folder: str | os.PathLike) -> Path:
        """``trajectory.csv`` (one row per query) and ``best.json`` (the chosen arch, its
        benchmark metrics, the search's settings) in ``folder``, each written atomically."""
        folder = Path(folder)
        with atomic_open(folder / "trajectory.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(Query.__dataclass_fields__))
            writer.writeheader()
            writer.writerows(asdict(q) for q in self.history)
        summary = {
            "strategy": self.strategy, "seed": self.seed, "space": self.space, "dataset": self.dataset,
            "queries": self.queries, "budget": self.budget, "simulated_seconds": self.best.seconds, "selected_on": self.select_column, "reported": self.report_column,
            "best_arch": self.best.best_key, "best_select": self.best.best_select, "best_report": self.best.best_report,
            "best_metrics": self.best_metrics,
        }
        with atomic_open(folder / "best.json", "w") as f:
            json.dump(summary, f, indent=2)
        for name, text in self.arch_files.items():
            with atomic_open(folder / name, "w") as f:
                f.write(text)
        return folder


def scorer_fingerprint(scorer: Scorer | None) -> str | None:
    """What a saved search state records of its scorer, so that resuming under another one
    (another checkpoint, other proxies) is refused instead of mixing two searches in one
    trajectory: the scorer's ``fingerprint`` where it has one, else its name."""
    if scorer is None:
        return None
    return str(getattr(scorer, "fingerprint", None) or getattr(scorer, "__qualname__", type(scorer).__qualname__))


def check_search_settings(save_every: int, seeds: Sequence[int] = (0,)) -> None:
    """The settings of :func:`run_search` (one run per seed) besides its budget, checkable before any
    work: a SearchCallback checks its own before the fit it follows."""
    require_count("save_every", save_every, 1)
    if not seeds:
        raise InvalidArgument("seeds is empty: give at least one, e.g. [0]")
    for seed in seeds:
        require_count("seed", seed, 0)
    require_distinct("seeds", list(seeds))  # a repeat would resume its own finished run and count twice in the plot


def run_search(
    strategy: SearchStrategy,
    budget: QueryBudget,
    scorer: Scorer | None = None,
    seed: int = 0,
    initial: Sequence[Any] = (),
    output: str | os.PathLike | None = None,
    save_every: int = 10,
    progress: bool = False,
) -> SearchResult:
    """Run ``strategy`` until ``budget`` (a fresh :class:`~lightning_nas.benchmarks.QueryBudget`) is spent.

    ``initial`` archs are queried first and count against the budget (a predictor's training
    set). With an ``output`` folder the search saves its state there (``state.pkl``) every
    ``save_every`` queries, resumes from it if present (under this ``budget``, which may be
    larger than the saved run's), and ends by writing the result (:meth:`SearchResult.save`).
    """
    check_search_settings(save_every, (seed,))
    if budget.history:
        raise InvalidArgument(f"the query budget has {budget.used} queries already: give each search a fresh QueryBudget")
    budget.require_room(len(initial))
    benchmark = budget.benchmark
    rng = np.random.default_rng(seed)
    budget.rng = rng  # simulated runs draw their training seed from the search's own stream
    strategy.bind(budget, rng, scorer)
    header = {"version": STATE_VERSION, "space": budget.space.name, "dataset": budget.dataset, "select": budget.select_column, "report": budget.report_column,
              "seed": seed, "scorer": scorer_fingerprint(scorer), **budget.settings(), **strategy.config()}
    state_path = Path(output) / "state.pkl" if output is not None else None
    if state_path is not None:
        make_folder(state_path.parent, state_path)  # a folder that cannot be made fails now, not at the first save

    if state_path is not None and state_path.exists():
        _load_state(state_path, header, budget, rng, strategy)
    else:
        seen = [(arch, budget.query(arch)) for arch in initial]
        strategy.reset(seen)

    def save() -> None:
        if state_path is not None:
            state = pickle.dumps({"header": header, "budget": budget.state_dict(), "rng": rng.bit_generator.state, "strategy": strategy.state_dict()},
                                 protocol=pickle.HIGHEST_PROTOCOL)
            with atomic_open(state_path, "wb") as f:  # the state and its checksum: a damaged file is refused, never resumed from
                pickle.dump({"sha256": hashlib.sha256(state).hexdigest(), "state": state}, f, protocol=pickle.HIGHEST_PROTOCOL)

    last_saved, stalled = budget.used, 0
    timed = budget.queries is None  # progress in simulated seconds, else in queries
    spent = (lambda: int(budget.used_seconds)) if timed else (lambda: budget.used)
    with progress_bar(f"{header['strategy']} on {budget.space.name}/{budget.dataset}", total=int(budget.seconds) if timed else budget.queries, enabled=progress) as advance:
        advance(spent())
        while not budget.exhausted and stalled < MAX_STALLED_STEPS:
            before, progress_before = budget.used, spent()
            try:
                strategy.step()
            except BudgetExhausted:
                break
            stalled = 0 if budget.used > before else stalled + 1
            advance(spent() - progress_before)
            if budget.used - last_saved >= save_every:
                save()
                last_saved = budget.used
    save()
    if budget.history:
        budget.finish()  # a training-free search reads the benchmark here, once, for the arch it reports
    if not budget.history:
        raise LightningNASError(f"{header['strategy']} queried no architecture: the budget ({budget.describe()}) could not pay for one")
    if budget.best.best_row < 0:
        raise LightningNASError(f"{header['strategy']} queried no architecture within {budget.constraint}")
    if stalled >= MAX_STALLED_STEPS:
        log.warning(
            "%s (seed %d) stopped after %d queries (budget: %s): %d steps in a row proposed only archs it had queried "
            "(it has converged, or the space is used up)", header["strategy"], seed, budget.used, budget.describe(), MAX_STALLED_STEPS,
        )  # fmt: skip
    row = budget.history[-1].best_row
    best_metrics = {name: float(benchmark.table.columns[name][row]) for name in benchmark.metrics}
    result = SearchResult(header["strategy"], seed, budget.space.name, budget.dataset, budget.select_column, budget.report_column,
                          list(budget.history), best_metrics, budget.describe(), budget.space.arch_files(budget.history[-1].best_key))
    if output is not None:
        result.save(output)
    return result


def _load_state(path: Path, header: dict[str, Any], budget: QueryBudget, rng: np.random.Generator, strategy: SearchStrategy) -> None:
    try:
        with open(path, "rb") as f:
            stored = pickle.load(f)
        checked = isinstance(stored, dict) and isinstance(stored.get("state"), bytes) and hashlib.sha256(stored["state"]).hexdigest() == stored.get("sha256")
        state = pickle.loads(stored["state"]) if checked else None
        saved = state["header"] if checked else None
    except Exception as exc:
        raise LightningNASError(f"search state {path} is unreadable ({exc}); delete it to start over") from exc
    if not checked:
        raise LightningNASError(f"search state {path} fails its checksum (damaged, or saved by a release before 0.2); delete it to start over")
    diff = {k: (saved.get(k), v) for k, v in header.items() if saved.get(k) != v}
    if diff:  # keys only the saved header has (the budget, in states of earlier versions) do not matter
        raise LightningNASError(f"search state {path} belongs to a different search (saved, now): {diff}; give another output folder (search --output), or delete {path.parent}")
    try:
        budget.load_state_dict(state["budget"])
    except InvalidArgument as exc:
        raise InvalidArgument(f"search state {path}: {exc}") from None
    rng.bit_generator.state = state["rng"]
    strategy.load_state_dict(state["strategy"])

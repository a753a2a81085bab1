"""``QueryBudget``: the one place where search cost is counted and limited.

A *query* is one distinct architecture whose benchmark accuracy was read. Asking again for an arch
already queried is free (a real user would have written the number down), so every strategy
reports cost the same way. Each new query records the selection value (what the search may look
at: validation accuracy where the benchmark has it), the reported value (test accuracy, never
shown to the strategy) and the best-so-far arch by selection value: that is the trajectory search
plots are drawn from. The one rule on the budget's size is here too (:meth:`QueryBudget.require_room`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.utils.errors import InvalidArgument, LightningNASError, UnknownMetric, require_count


class BudgetExhausted(LightningNASError):
    """A strategy asked for a new architecture after the query budget was spent."""


@dataclass(frozen=True)
class Query:
    """One row of a search trajectory (accuracies in percent)."""

    queries: int
    key: str
    #: benchmark row (the official index on NB201 / NATS)
    row: int
    select: float
    report: float
    best_key: str
    best_row: int
    best_select: float
    best_report: float


class QueryBudget:
    """Counts and limits distinct-architecture queries to ``benchmark``: at most ``queries`` of them.

    ``query(arch)`` returns the selection value; ``history`` is the trajectory, one
    :class:`Query` per distinct arch in query order.
    """

    def __init__(self, benchmark: Benchmark, queries: int, dataset: str | None = None, select: str | None = None) -> None:
        self.require_queries(queries)
        self.benchmark = benchmark
        self.space = benchmark.space
        self.queries = queries
        self.dataset = dataset or benchmark.datasets[0]
        self.select_column, self.report_column = benchmark.search_columns(self.dataset, select)
        self._select = benchmark.table.columns[self.select_column]
        self._report = benchmark.table.columns[self.report_column]
        self.history: list[Query] = []
        self._value: dict[str, float] = {}

    @property
    def used(self) -> int:
        return len(self.history)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.queries

    @staticmethod
    def require_queries(queries: int) -> None:
        """The budget rule on its size, checkable before any benchmark is read: at least one query."""
        require_count("query budget", queries, 1)

    def require_room(self, before: int) -> None:
        """The budget rule: ``before`` archs queried before the search (a predictor's labelled
        archs) count against the budget, and must leave the search at least one query of its own."""
        if before >= self.queries:
            raise InvalidArgument(
                f"a query budget of {self.queries} leaves the search no query of its own after the {before} archs queried before it "
                f"(a predictor's labelled archs: training and validation); give a budget above {before}"
            )

    def seen(self, arch: Any) -> bool:
        """Whether ``arch`` was already queried (so asking again costs nothing)."""
        return self.space.key(self.space.validate(arch)) in self._value

    def query(self, arch: Any) -> float:
        """Selection accuracy (percent) of ``arch``; a new arch costs one query."""
        key = self.space.key(self.space.validate(arch))
        if key in self._value:
            return self._value[key]
        if self.exhausted:
            raise BudgetExhausted(f"query budget of {self.queries} spent; {key!r} was not queried")
        row = self.benchmark.index(arch)
        select, report = float(self._select[row]), float(self._report[row])
        for name, value in ((self.select_column, select), (self.report_column, report)):
            if not np.isfinite(value):
                raise UnknownMetric(
                    f"{self.benchmark!r}: arch {key!r} (row {row}) has no {name} ({value}), which the search "
                    f"{'selects on' if name == self.select_column else 'reports'}; select on another column on purpose with select= (search --select), which the results record"
                )
        best = self.best
        if best is None or select > best.best_select:
            best_fields = (key, row, select, report)
        else:
            best_fields = (best.best_key, best.best_row, best.best_select, best.best_report)
        self._value[key] = select
        self.history.append(Query(self.used + 1, key, row, select, report, *best_fields))
        return select

    @property
    def best(self) -> Query | None:
        """The last trajectory row (its ``best_*`` fields are the best arch so far)."""
        return self.history[-1] if self.history else None

    # -- resumable state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "select": self.select_column, "report": self.report_column, "history": [asdict(q) for q in self.history]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` under this budget, which may differ from the saved run's but
        cannot be below the queries already made."""
        if state["dataset"] != self.dataset:
            raise InvalidArgument(f"saved search state is for {state['dataset']!r}, not {self.dataset!r}")
        saved = (state.get("select"), state.get("report"))
        if saved != (self.select_column, self.report_column):
            raise InvalidArgument(f"the saved search selected on / reported {saved}, this one {(self.select_column, self.report_column)}: its trajectory cannot continue under other columns")
        if len(state["history"]) > self.queries:
            raise InvalidArgument(
                f"the saved search already made {len(state['history'])} queries, more than the budget of {self.queries}: "
                f"give a budget of at least {len(state['history'])}, or another output folder"
            )
        self.history = [Query(**q) for q in state["history"]]
        self._value = {q.key: q.select for q in self.history}

"""``QueryBudget``: the one place where search cost is counted and limited.

Two ways to pay for an arch's accuracy:

* **table lookups** (the default): a *query* reads one distinct arch's selection accuracy from the table.
  Asking again is free (a real user would have written the number down), so every strategy reports cost
  the same way; the budget is a number of queries.
* **simulated training** (``signal=<epochs>``, NATS-Bench's protocol): a query "trains" the arch for
  ``signal`` epochs (:meth:`~lightning_nas.benchmarks.Benchmark.training_columns`), paying the run's
  simulated seconds and reading the validation accuracy of one training seed drawn from the search's
  generator. Every query is a training run, so asking again trains again (another seed, another charge),
  as ``simulate_train_eval`` does. The budget is simulated seconds (``seconds``), a number of runs, or both.

Each query records the selection value (what the search may look at: validation accuracy where the benchmark
has it), the reported value (test accuracy, never shown to the strategy), the simulated seconds spent so far
and the best-so-far arch by selection value: that is the trajectory search plots are drawn from. A query is
refused, not made, when it would take the spend over the budget, so the budget is never exceeded. Under a
``constraint`` only archs within it can be the best (the strategies propose no others; archs labelled before
the search are queried either way). The one rule on the budget's size is here too (:meth:`QueryBudget.require_room`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.benchmarks.constraints import Constraint
from lightning_nas.benchmarks.training import TrainingColumns
from lightning_nas.utils.errors import InvalidArgument, LightningNASError, UnknownMetric, require_count, require_positive


class BudgetExhausted(LightningNASError):
    """A strategy asked for a new query after the budget was spent, or one the rest of it could not pay for."""


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
    #: simulated training seconds spent so far, this query's run included (0 for table lookups)
    seconds: float = 0.0
    #: epochs of this query's simulated training run (0: a table lookup)
    epochs: int = 0
    #: epochs of the run the best arch's selection value came from (0: a table lookup)
    best_epochs: int = 0


class QueryBudget:
    """Counts and limits the queries a search makes of ``benchmark`` on ``dataset``.

    Args:
        queries: at most this many queries (distinct archs for table lookups; training runs with ``signal``).
        select: a table column to select on instead of validation accuracy (table lookups only).
        seconds: at most this many simulated training seconds (needs ``signal``; 12 when not given).
        signal: simulate training runs of this many epochs instead of reading the table (NATS-Bench's
            ``hp``: 12 is its cheap search signal); ``query(arch, epochs=...)`` may ask for another fidelity.
        constraint: only archs within it may become the best (see :class:`~lightning_nas.benchmarks.constraints.Constraint`).

    ``query(arch)`` returns the selection value; ``history`` is the trajectory, one :class:`Query` per query.
    ``rng`` draws the training seeds of simulated runs (``run_search`` gives it the search's generator).
    """

    def __init__(
        self,
        benchmark: Benchmark,
        queries: int | None = None,
        dataset: str | None = None,
        select: str | None = None,
        seconds: float | None = None,
        signal: int | None = None,
        constraint: Constraint | None = None,
    ) -> None:
        if queries is None and seconds is None:
            raise InvalidArgument("give the budget a number of queries, a simulated-time budget in seconds, or both")
        if queries is not None:
            self.require_queries(queries)
        if seconds is not None:
            require_positive("time budget (seconds)", seconds)
            signal = signal or 12
        if signal is not None and select is not None:
            raise InvalidArgument("select= picks a table column to read, signal= simulates training runs to select on: give one")
        self.benchmark = benchmark
        self.space = benchmark.space
        self.queries, self.seconds, self.signal = queries, seconds, signal
        self.dataset = benchmark.resolve_dataset(dataset)
        self.constraint = constraint
        self._feasible = constraint.mask(benchmark, self.dataset) if constraint is not None else None
        if self._feasible is not None and not self._feasible.any():
            raise InvalidArgument(f"no arch of {benchmark!r} satisfies {constraint} on {self.dataset}")
        self._runs: dict[int, TrainingColumns] = {}
        table_select, self.report_column = benchmark.search_columns(self.dataset, select)
        self.select_column = self._training(signal).name if signal is not None else table_select
        self._select = benchmark.table.columns[table_select]
        self._report = benchmark.table.columns[self.report_column]
        self.rng = np.random.default_rng(0)
        self.history: list[Query] = []
        self._value: dict[str, float] = {}
        self._spent = False  # a query was refused for want of time: the budget cannot pay for another

    @property
    def used(self) -> int:
        return len(self.history)

    @property
    def used_seconds(self) -> float:
        return self.history[-1].seconds if self.history else 0.0

    @property
    def exhausted(self) -> bool:
        return self._spent or (self.queries is not None and self.used >= self.queries) or (self.seconds is not None and self.used_seconds >= self.seconds)

    @staticmethod
    def require_queries(queries: int) -> None:
        """The budget rule on its size, checkable before any benchmark is read: at least one query."""
        require_count("query budget", queries, 1)

    def require_room(self, before: int) -> None:
        """The budget rule: ``before`` archs queried before the search (a predictor's labelled archs) count
        against the budget, and must leave the search at least one query (or some time) of its own."""
        if self.queries is not None and before >= self.queries:
            raise InvalidArgument(
                f"a query budget of {self.queries} leaves the search no query of its own after the {before} archs queried before it "
                f"(a predictor's labelled archs: training and validation); give a budget above {before}"
            )

    def feasible(self, arch: Any) -> bool:
        """Whether ``arch`` satisfies the budget's constraint (always, without one)."""
        return self._feasible is None or bool(self._feasible[self.benchmark.index(arch)])

    def seen(self, arch: Any) -> bool:
        """Whether ``arch`` was already queried (a table lookup again costs nothing)."""
        return self.space.key(self.space.validate(arch)) in self._value

    def query(self, arch: Any, epochs: int | None = None) -> float:
        """Selection accuracy (percent) of ``arch``: a table lookup (a new arch costs one query), or with a
        ``signal`` a simulated training run of ``epochs`` (default: the signal) epochs, charged in full."""
        key = self.space.key(self.space.validate(arch))
        if self.signal is None:
            if epochs is not None:
                raise InvalidArgument("query(epochs=...) simulates a training run: give the budget a signal (search --signal 12)")
            if key in self._value:
                return self._value[key]
        if self.exhausted:
            raise BudgetExhausted(f"the budget ({self.describe()}) is spent; {key!r} was not queried")
        row = self.benchmark.index(arch)
        seconds, run_epochs = 0.0, 0
        if self.signal is not None:
            run_epochs = epochs or self.signal
            run = self._training(run_epochs)
            seconds = float(run.seconds[row])
            if self.seconds is not None and self.used_seconds + seconds > self.seconds:
                self._spent = True
                raise BudgetExhausted(f"training {key!r} for {run_epochs} epochs takes {seconds:.0f} s, more than the {self.seconds - self.used_seconds:.0f} s left")
            select = run.run(row, self.rng)[0]
        else:
            select = float(self._select[row])
        report = float(self._report[row])
        for name, value in ((self.select_column, select), (self.report_column, report)):
            if not np.isfinite(value):
                raise UnknownMetric(
                    f"{self.benchmark!r}: arch {key!r} (row {row}) has no {name} ({value}), which the search "
                    f"{'selects on' if name == self.select_column else 'reports'}; select on another column on purpose with select= (search --select), which the results record"
                )
        self._record(key, row, select, report, seconds, run_epochs)
        return select

    def _record(self, key: str, row: int, select: float, report: float, seconds: float = 0.0, epochs: int = 0) -> None:
        """Append a trajectory row for ``key``, the best so far updated by selection value among archs within the constraint."""
        best = self.best
        better = best is None or best.best_row < 0 or select > best.best_select
        if better and (self._feasible is None or self._feasible[row]):
            best_fields, best_epochs = (key, row, select, report), epochs
        elif best is not None:
            best_fields, best_epochs = (best.best_key, best.best_row, best.best_select, best.best_report), best.best_epochs
        else:  # an arch outside the constraint queried first (a predictor's labelled arch): no best yet
            best_fields, best_epochs = ("", -1, float("nan"), float("nan")), 0
        self._value[key] = select
        self.history.append(Query(self.used + 1, key, row, select, report, *best_fields, self.used_seconds + seconds, epochs, best_epochs))

    def finish(self) -> None:
        """Called once the search ends: nothing to do when every query read its values (see :class:`TrainingFreeBudget`)."""

    def _training(self, epochs: int) -> TrainingColumns:
        if epochs not in self._runs:
            self._runs[epochs] = self.benchmark.training_columns(self.dataset, epochs)
        return self._runs[epochs]

    @property
    def best(self) -> Query | None:
        """The last trajectory row (its ``best_*`` fields are the best arch so far)."""
        return self.history[-1] if self.history else None

    def describe(self) -> str:
        """``100 queries``, ``20000 s of simulated training (12-epoch runs)``, ... as a user reads it."""
        parts = [f"{self.queries} queries"] if self.queries is not None else []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g} s of simulated training")
        runs = f" ({self.signal}-epoch runs)" if self.signal is not None else ""
        return " and ".join(parts) + runs + (f" under {self.constraint}" if self.constraint is not None else "")

    def settings(self) -> dict[str, Any]:
        """What a saved search must share with this budget to continue under it."""
        return {"signal": self.signal, "constraint": str(self.constraint) if self.constraint is not None else None}

    # -- resumable state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "select": self.select_column, "report": self.report_column, "history": [asdict(q) for q in self.history],
                "spent": self._spent, "spent_at": self.seconds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` under this budget, which may differ from the saved run's but
        cannot be below what was already spent."""
        if state["dataset"] != self.dataset:
            raise InvalidArgument(f"saved search state is for {state['dataset']!r}, not {self.dataset!r}")
        saved = (state.get("select"), state.get("report"))
        if saved != (self.select_column, self.report_column):
            raise InvalidArgument(f"the saved search selected on / reported {saved}, this one {(self.select_column, self.report_column)}: its trajectory cannot continue under other columns")
        history = [Query(**q) for q in state["history"]]
        if self.queries is not None and len(history) > self.queries:
            raise InvalidArgument(
                f"the saved search already made {len(history)} queries, more than the budget of {self.queries}: "
                f"give a budget of at least {len(history)}, or another output folder"
            )
        spent = history[-1].seconds if history else 0.0
        if self.seconds is not None and spent > self.seconds:
            raise InvalidArgument(f"the saved search already spent {spent:.0f} s of simulated training, more than the time budget of {self.seconds:g} s: give at least {spent:.0f}, or another output folder")
        self.history = history
        self._value = {q.key: q.select for q in self.history}
        # a refused query stays refused only under the same time budget: a larger one may pay for it
        self._spent = bool(state.get("spent")) and state.get("spent_at") == self.seconds


class TrainingFreeBudget(QueryBudget):
    """A zero-query search's budget (NASWOT, RBFleX-NAS, TE-NAS, TEGNAS): ``query(arch)`` returns ``fitness``'s score
    of the arch (a zero-cost proxy on its untrained network, or any ``archs -> scores`` callable; higher is better), and
    no benchmark value is read until :meth:`finish` reads the chosen arch's, once, for the report.

    The cost counted is ``evaluations``: distinct archs scored (scoring one again is free). Trajectory rows carry the
    fitness as the selection value and NaN as the reported value, except the last after :meth:`finish`. The
    strategies run unchanged: random search becomes sample-N-keep-the-best, regularized evolution's fitness and
    REINFORCE's reward become the score.
    """

    def __init__(self, benchmark: Benchmark, evaluations: int, fitness: Any, dataset: str | None = None, constraint: Constraint | None = None) -> None:
        if len(getattr(fitness, "proxies", ())) > 1 and getattr(fitness, "reference", None) is None:
            raise InvalidArgument(
                f"a rank combination ({'+'.join(fitness.proxies)}) ranks the candidates of one call; a training-free fitness scores one arch "
                "at a time: rank them against a fixed reference set (ProxyScorer(..., reference=100), search --reference 100)"
            )
        super().__init__(benchmark, evaluations, dataset, constraint=constraint)
        self.fitness = fitness
        name = getattr(fitness, "name", None) or getattr(fitness, "__qualname__", type(fitness).__qualname__)
        self.select_column = f"training-free:{name}"
        #: benchmark rows whose values were read (the report's, after finish)
        self.rows_read: list[int] = []

    def query(self, arch: Any, epochs: int | None = None) -> float:
        """The fitness of ``arch`` (a new arch costs one evaluation); no benchmark value is read."""
        if epochs is not None:
            raise InvalidArgument("a training-free search trains nothing: query(epochs=...) needs a budget that simulates training")
        key = self.space.key(self.space.validate(arch))
        if key in self._value:
            return self._value[key]
        if self.exhausted:
            raise BudgetExhausted(f"the budget ({self.describe()}) is spent; {key!r} was not scored")
        row = self.benchmark.index(arch)
        scores = np.asarray(self.fitness([arch]), dtype=np.float64)
        if scores.shape != (1,) or np.isnan(scores[0]):
            raise LightningNASError(f"the fitness returned {scores!r} for {key!r}: it must return one score per arch, -inf for one it cannot score")
        value = float(scores[0])
        self._record(key, row, value, float("nan"))  # nothing read: the report waits for finish()
        return value

    @property
    def parts(self) -> list[str]:
        """The proxies whose separate values :meth:`query_parts` returns: the fitness's (a
        :class:`~lightning_nas.search.ProxyScorer`'s), none for a fitness without them (a predictor, a function)."""
        return list(getattr(self.fitness, "proxies", ())) if callable(getattr(self.fitness, "scores", None)) else []

    def query_parts(self, arch: Any) -> dict[str, float]:
        """Each of the fitness's proxies' own score of ``arch`` (NaN where one could not score it), at :meth:`query`'s
        cost: TEGNAS's REINFORCE rewards each indicator's change, not the combined fitness. Still no benchmark value is read."""
        if not self.parts:
            raise InvalidArgument(f"the fitness {self.select_column.split(':', 1)[1]!r} has no separate proxy scores: give a ProxyScorer (search --proxies)")
        self.query(arch)
        return dict(zip(self.parts, np.asarray(self.fitness.scores([arch]), dtype=np.float64)[:, 0].tolist()))

    def finish(self) -> None:
        """Read the benchmark once: the reported value of the arch chosen, into the last trajectory row."""
        last = self.history[-1]
        if last.best_row < 0 or self.rows_read:
            return
        self.rows_read.append(last.best_row)
        report = float(self._report[last.best_row])
        self.history[-1] = replace(last, report=report if last.row == last.best_row else last.report, best_report=report)

    def describe(self) -> str:
        return f"{self.queries} training-free evaluations (no benchmark query)" + (f" under {self.constraint}" if self.constraint is not None else "")

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "fitness": self.select_column}

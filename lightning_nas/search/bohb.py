"""BOHB (Falkner et al. 2018) from a maintained library: Optuna's TPE sampler with a Hyperband pruner."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

from lightning_nas.search.base import Scorer, SearchStrategy
from lightning_nas.utils.errors import InvalidArchitecture, InvalidArgument, require_count


class BOHB(SearchStrategy):
    """Bayesian optimisation with Hyperband over two fidelities of simulated training, as NATS-Bench runs
    BOHB: a tree-structured Parzen estimator (Optuna's ``TPESampler``, the kernel-density model BOHB uses)
    proposes the choice of every decision of the space; each proposal is trained for ``low_epochs`` first,
    and Optuna's ``HyperbandPruner`` decides whether it is trained for ``high_epochs`` too. Both runs are
    queries and pay their simulated time. Needs a budget that simulates training (``signal``); takes no scorer.

    NATS-Bench's BOHB (``hpbandster``) stops runs within the 12-epoch schedule (1, 4 and 12 epochs); the
    tables here hold 12 and 200 epochs only, so those are the fidelities.

    Args:
        low_epochs: the cheap fidelity every proposal is trained at first.
        high_epochs: the full fidelity (None: the benchmark's full schedule).
        reduction_factor: Hyperband's eta (the top 1/eta of a rung is promoted).
        startup_trials: random proposals before TPE models the results.
    """

    def __init__(self, low_epochs: int = 12, high_epochs: int | None = None, reduction_factor: int = 3, startup_trials: int = 10) -> None:
        super().__init__(num_candidates=1)
        require_count("low_epochs", low_epochs, 1)
        require_count("reduction_factor", reduction_factor, 2)
        require_count("startup_trials", startup_trials, 1)
        self.low_epochs, self.high_epochs = low_epochs, high_epochs
        self.reduction_factor, self.startup_trials = reduction_factor, startup_trials

    def config(self) -> dict[str, Any]:
        return {**super().config(), "low_epochs": self.low_epochs, "high_epochs": self.high_epochs,
                "reduction_factor": self.reduction_factor, "startup_trials": self.startup_trials}

    def bind(self, budget: Any, rng: Any, scorer: Scorer | None) -> None:
        if budget.signal is None:
            raise InvalidArgument("BOHB trains archs at two fidelities: give the budget simulated training (search --signal 12, or --time_budget)")
        if scorer is not None:
            raise InvalidArgument("BOHB proposes archs from its own model and takes no scorer; guide RegularizedEvolution, RandomSearch or Reinforce instead")
        super().bind(budget, rng, scorer)
        self.high = self.high_epochs or budget.benchmark.default_epochs
        if self.high <= self.low_epochs:
            raise InvalidArgument(f"BOHB's high_epochs ({self.high}) must exceed low_epochs ({self.low_epochs})")

    def reset(self, seen: Sequence[tuple[Any, float]]) -> None:
        import optuna

        if seen:
            raise InvalidArgument("BOHB starts from its own proposals: run it without archs labelled before the search")

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(n_startup_trials=self.startup_trials, seed=int(self.rng.integers(2**31)))
        pruner = optuna.pruners.HyperbandPruner(min_resource=self.low_epochs, max_resource=self.high, reduction_factor=self.reduction_factor)
        # a fixed name: Hyperband assigns trials to brackets by a checksum of it, so a search repeats and resumes exactly
        self.study = optuna.create_study(study_name="lightning_nas-bohb", direction="maximize", sampler=sampler, pruner=pruner)

    def _distributions(self) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution

        return {f"d{i}": CategoricalDistribution(list(range(n))) for i, n in enumerate(self.space.decisions)}

    def step(self) -> None:
        from optuna.trial import TrialState

        trial = self.study.ask(self._distributions())
        try:
            arch = self.space.from_decisions([trial.params[f"d{i}"] for i in range(len(self.space.decisions))])
        except InvalidArchitecture:  # choices that spell no arch (NB101): no training run, nothing learnt
            self.study.tell(trial, state=TrialState.FAIL)
            return
        if not self.budget.feasible(arch):  # known before training: the worst value, at no cost
            self.study.tell(trial, 0.0)
            return
        trial.report(self.budget.query(arch, epochs=self.low_epochs), self.low_epochs)
        if trial.should_prune():
            self.study.tell(trial, state=TrialState.PRUNED)
            return
        value = self.budget.query(arch, epochs=self.high)
        trial.report(value, self.high)
        self.study.tell(trial, value)

    def state_dict(self) -> dict[str, Any]:
        return {"study": pickle.dumps(self.study, protocol=pickle.HIGHEST_PROTOCOL)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.study = pickle.loads(state["study"])

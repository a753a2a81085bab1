"""Random search: the baseline every strategy has to beat."""

from __future__ import annotations

from lightning_nas.search.base import SearchStrategy


class RandomSearch(SearchStrategy):
    """Query uniformly sampled archs (with a scorer: the best-scored of ``num_candidates``
    samples, i.e. predictor-screened random sampling)."""

    def step(self) -> None:
        self.budget.query(self.propose(lambda: self.space.sample(self.rng)))

"""Regularized (aging) evolution, Real et al. 2019, with NATS-Bench's defaults."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from lightning_nas.utils.errors import InvalidArgument, require_count
from lightning_nas.search.base import SearchStrategy


class RegularizedEvolution(SearchStrategy):
    """Tournament selection + mutation with an aging population.

    Until the population holds ``population_size`` archs, random archs are queried; then each
    step samples ``sample_size`` members, mutates the fittest (by selection accuracy) and
    replaces the *oldest* member with the child. With a scorer the child is the best-scored of
    ``num_candidates`` mutations (and initial members the best-scored of as many samples).
    Archs queried before the search (``reset(seen)``) seed the population, best youngest (those within the
    budget's constraint only).

    Args:
        population_size: archs in the aging population.
        sample_size: members drawn per tournament (1 .. population_size).
        num_candidates: see :class:`SearchStrategy`.
    """

    def __init__(self, population_size: int = 10, sample_size: int = 3, num_candidates: int = 100) -> None:
        super().__init__(num_candidates)
        require_count("population_size", population_size, 1)
        require_count("sample_size", sample_size, 1)
        if sample_size > population_size:
            raise InvalidArgument(f"sample_size ({sample_size}) must not exceed population_size ({population_size})")
        self.population_size = population_size
        self.sample_size = sample_size
        self.population: deque[tuple[Any, float]] = deque()

    def config(self) -> dict[str, Any]:
        return {**super().config(), "population_size": self.population_size, "sample_size": self.sample_size}

    def reset(self, seen: Sequence[tuple[Any, float]]) -> None:
        within = [pair for pair in seen if self.budget.feasible(pair[0])]  # a parent outside the constraint has no place in it
        best = sorted(within, key=lambda pair: pair[1])[-self.population_size :]
        self.population = deque(best)

    def step(self) -> None:
        if len(self.population) < self.population_size:
            arch = self.propose(lambda: self.space.sample(self.rng))
            self.population.append((arch, self.budget.query(arch)))
            return
        members = self.rng.choice(len(self.population), size=self.sample_size, replace=False)
        parent = max((self.population[int(i)] for i in members), key=lambda pair: pair[1])[0]
        child = self.propose(lambda: self.space.mutate(parent, self.rng))
        self.population.append((child, self.budget.query(child)))
        self.population.popleft()

    def state_dict(self) -> dict[str, Any]:
        return {"population": list(self.population)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.population = deque(state["population"])

"""REINFORCE (Williams 1992) over the space's categorical decisions, as in NATS-Bench."""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from lightning_nas.benchmarks.budget import TrainingFreeBudget
from lightning_nas.utils.errors import InvalidArchitecture, InvalidArgument, require_fraction, require_positive
from lightning_nas.search.base import SearchStrategy
from lightning_nas.search.tegnas_reward import BufferedChangeReward


class Reinforce(SearchStrategy):
    """A factorised categorical policy (one softmax per decision of ``space.decisions``),
    trained with Adam on ``-log p(arch) * (reward - baseline)``, baseline = exponential moving average of
    rewards (``momentum``) started at the first reward (NATS-Bench's and TEGNAS's bias-corrected average weighs
    the first reward less, a difference that fades as ``momentum ** steps``). The reward (``reward``):

    * ``"fitness"``: selection accuracy / 100 (NATS-Bench), or a training-free fitness / 100;
    * ``"tegnas"``: TEGNAS's, in a training-free search whose fitness is zero-cost proxies: each proxy's change
      from the previous arch over the range of its last ``buffer_size`` values, summed
      (:class:`~lightning_nas.search.tegnas_reward.BufferedChangeReward`).

    Sampling uses the search's numpy generator, so the trajectory is reproducible and resumable.
    Choice vectors that spell an invalid arch (NB101) are redrawn. With a scorer, the policy
    proposes ``num_candidates`` archs and the best-scored one is queried and rewarded.

    Args:
        lr: Adam learning rate of the policy.
        momentum: decay of the reward baseline's moving average, in [0, 1).
        num_candidates: see :class:`SearchStrategy`.
        reward: ``"fitness"`` or ``"tegnas"`` (above).
        buffer_size: the ``"tegnas"`` reward's buffer (TEGNAS's ``te_buffer_size``).
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, num_candidates: int = 100, reward: Literal["fitness", "tegnas"] = "fitness", buffer_size: int = 10) -> None:
        super().__init__(num_candidates)
        require_positive("lr", lr)
        require_fraction("momentum", momentum)
        if reward not in ("fitness", "tegnas"):
            raise InvalidArgument(f"reward must be 'fitness' or 'tegnas', got {reward!r}")
        self.lr = lr
        self.momentum = momentum
        self.reward = reward
        self.buffer_size = buffer_size
        self.changes = BufferedChangeReward(buffer_size) if reward == "tegnas" else None

    def config(self) -> dict[str, Any]:
        tegnas = {"reward": self.reward, "buffer_size": self.buffer_size} if self.changes is not None else {}
        return {**super().config(), "lr": self.lr, "momentum": self.momentum, **tegnas}

    def reset(self, seen: Any) -> None:
        if self.changes is not None:
            if not isinstance(self.budget, TrainingFreeBudget) or not self.budget.parts:
                raise InvalidArgument(
                    "Reinforce(reward='tegnas') rewards each zero-cost proxy's change: run it in a training-free search whose "
                    "fitness is proxies (TrainingFreeBudget with a ProxyScorer; search --training_free true --proxies tenas_ntk,tenas_lr,tegnas_mse)"
                )
            self.changes = BufferedChangeReward(self.buffer_size)
        sizes = self.space.decisions
        logits = torch.zeros(len(sizes), max(sizes), dtype=torch.float64)
        self.mask = torch.tensor([[j >= n for j in range(max(sizes))] for n in sizes])
        self.logits = torch.nn.Parameter(logits)
        self.optimizer = torch.optim.Adam([self.logits], lr=self.lr)
        self.baseline: float | None = None

    def _probabilities(self) -> torch.Tensor:
        return torch.softmax(self.logits.masked_fill(self.mask, -torch.inf), dim=1)

    def _sample(self) -> Any:
        probs = self._probabilities().detach().numpy()
        while True:
            choices = [int(self.rng.choice(len(p), p=p / p.sum())) for p in probs]
            try:
                arch = self.space.from_decisions(choices)
            except InvalidArchitecture:
                continue
            self._drawn.setdefault(self.space.key(arch), choices)
            return arch

    def step(self) -> None:
        self._drawn: dict[str, list[int]] = {}  # the choices that spelled each proposal
        arch = self.propose(self._sample)
        if self.changes is not None:
            reward = self.changes(list(self.budget.query_parts(arch).values()))
        else:
            reward = self.budget.query(arch) / 100.0
            if not math.isfinite(reward):  # an arch a training-free fitness cannot score (-inf) teaches the policy nothing
                return
        self.baseline = reward if self.baseline is None else self.momentum * self.baseline + (1 - self.momentum) * reward
        choices = torch.tensor(self._drawn[self.space.key(arch)])
        log_prob = torch.log(self._probabilities()[torch.arange(len(choices)), choices]).sum()
        loss = -log_prob * (reward - self.baseline)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        changes = {"changes": self.changes.state_dict()} if self.changes is not None else {}
        return {"logits": self.logits.detach().clone(), "optimizer": self.optimizer.state_dict(), "baseline": self.baseline, **changes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reset(())
        with torch.no_grad():
            self.logits.copy_(state["logits"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        if self.changes is not None:
            self.changes.load_state_dict(state["changes"])

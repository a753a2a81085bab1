"""Simulated training: NATS-Bench's ``simulate_train_eval`` over a benchmark's tables.

A search that "trains" an arch pays the simulated time of one training run and reads back the validation
accuracy that run reached, at the run's epoch count: 12 (NATS-Bench's cheap search signal, ``hp="12"``) or the
full schedule (200 on NB201), from one of the training seeds the benchmark holds, drawn from the caller's
generator. Where our tables force a deviation from NATS-Bench, :class:`TrainingColumns` says so
(``notes``; all are listed in docs/search.md):

* time: NATS-Bench charges the run's own total training time plus one validation pass. When a table holds
  the full schedule's total only, a run of ``e`` epochs is charged ``e / full`` of it (the per-epoch time of the
  full schedule); no table holds validation time, so none is charged.
* seeds: a table with seed means only (NB201's 12-epoch table) gives every run the mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class TrainingColumns:
    """Where a simulated run of ``epochs`` epochs on ``dataset`` reads its numbers, row-aligned with the table."""

    dataset: str
    epochs: int
    #: validation accuracy of each training seed [seeds, rows] (NaN where a row lacks that seed); one row of
    #: seed means when the table has no per-seed values
    per_seed: np.ndarray
    #: simulated seconds of one run [rows]
    seconds: np.ndarray
    #: the column the accuracy is read from, as the search results name it
    name: str
    notes: tuple[str, ...] = field(default=())

    def run(self, row: int, rng: np.random.Generator) -> tuple[float, float]:
        """(validation accuracy, seconds) of one run of ``row``, its seed drawn from ``rng`` among those trained."""
        values = self.per_seed[:, row]
        values = values[~np.isnan(values)]
        if len(values) == 0:
            return float("nan"), float(self.seconds[row])
        return float(values[rng.integers(len(values))] if len(values) > 1 else values[0]), float(self.seconds[row])


@dataclass(frozen=True)
class TrainingRun:
    """One simulated training run, as ``nats_bench``'s ``simulate_train_eval`` reports it."""

    val_acc: float
    #: simulated seconds this run took
    seconds: float
    #: the benchmark's simulated clock after this run (``Benchmark.used_time``)
    total_seconds: float

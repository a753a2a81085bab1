"""The one resolver of a predictor's extra features: where each named feature comes from.

A name is one of
* a benchmark column on the run's dataset (``params``, ``flops``);
* a column group the space lays out from the architecture (``cell_stats`` on NB101: one name, many
  columns, expanded to ``cell_stats/<column>``; cached on disk like an encoding);
* a zero-cost proxy scored in a score table (``python -m lightning_nas score``), when the run has one.

The datamodule (training, testing), the model's input shape and a search's scorer all resolve names
here, so a checkpoint trained with some features is scored with the same columns in the same order.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.encodings.base import Encoding, cached_arrays
from lightning_nas.proxies import PROXIES
from lightning_nas.proxies.table import ScoreTable, scored_columns
from lightning_nas.spaces import SPACES, get_space
from lightning_nas.spaces.base import SearchSpace
from lightning_nas.utils.errors import InvalidArgument, UnknownMetric


class ColumnGroup(Encoding):
    """A space's layout of named columns (e.g. NB101's ``cell_stats``), cached like an encoding."""

    def __init__(self, name: str) -> None:
        self.name = name

    def materialize(self, arrays: dict[str, np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(arrays["x"])


def group_columns(space: SearchSpace, name: str) -> tuple[str, ...] | None:
    """The column names of ``name`` if it is a column group of ``space``, else None."""
    layout = space.layouts().get(name)
    return layout.columns if layout is not None and layout.columns else None


def _groups_anywhere() -> list[str]:
    """Every column group some registered space lays out (for error messages)."""
    return sorted({name for cls in SPACES.values() for name, layout in cls().layouts().items() if layout.columns})


def expand_features(names: list[str] | None, space: str | SearchSpace) -> list[str]:
    """One name per column: a column group of ``space`` becomes ``group/<column>``, anything else stays."""
    space = get_space(space) if isinstance(space, str) else space
    return [column for n in names or [] for column in ([f"{n}/{c}" for c in group_columns(space, n) or ()] or [n])]


class ExtraFeatures:
    """The extra features ``names`` of every row of ``benchmark``, resolved once.

    ``values``: float64 [len(benchmark), columns], NaN where a proxy score is missing from the table;
    ``proxies``: the names read from ``proxy_table`` (the columns it scores for some arch; a search
    computes them for candidates the table lacks); ``in_table``: which rows the table has (all rows
    without a table).
    """

    def __init__(self, names: list[str] | None, benchmark: Benchmark, dataset: str | None = None, proxy_table: str | os.PathLike | None = None) -> None:
        self.names = list(names or [])
        self.benchmark, self.proxy_table = benchmark, proxy_table
        space = benchmark.space
        self.in_table = np.ones(len(benchmark), dtype=bool)
        scored = np.full((len(benchmark), len(self.names)), np.nan)
        if proxy_table is not None:
            self.in_table, scored = ScoreTable(proxy_table).lookup(self.names, benchmark.keys)
            if not self.in_table.any():
                raise InvalidArgument(
                    f"score table {proxy_table} holds no {space.name} arch (scored on another space?); "
                    f"build one with `python -m lightning_nas score --space {space.name} --proxies ...`"
                )
        from_table = scored_columns(scored) if proxy_table is not None else np.zeros(len(self.names), dtype=bool)
        self.proxies = [name for name, scored_here in zip(self.names, from_table) if scored_here]
        if any(not scored_here and group_columns(space, name) is None for name, scored_here in zip(self.names, from_table)):
            dataset = benchmark.resolve_dataset(dataset)  # an unknown dataset is that, not an unknown feature
        blocks = [scored[:, i : i + 1] if from_table[i] else self._column(name, dataset) for i, name in enumerate(self.names)]
        self.values = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(benchmark), 0))
        #: which columns of :attr:`values` hold zero-cost proxy scores
        self.is_proxy = np.concatenate([np.full(b.shape[1], bool(t)) for b, t in zip(blocks, from_table)]) if blocks else np.zeros(0, bool)

    def _column(self, name: str, dataset: str | None) -> np.ndarray:
        """A benchmark column or a column group, float32 (the precision a predictor reads them in)."""
        space = self.benchmark.space
        if group_columns(space, name) is not None:
            return cached_arrays(ColumnGroup(name), space, self.benchmark.structure)["x"].astype(np.float32, copy=False)
        if name in _groups_anywhere():
            raise InvalidArgument(f"extra feature group {name!r} is not defined for space {space.name!r}")
        try:
            return self.benchmark.column(name, dataset).astype(np.float32)[:, None]
        except UnknownMetric as exc:
            if name in PROXIES:  # a zero-cost proxy, but the run has no table that scores it
                where = f"{self.proxy_table} has no {name!r} scores for {space.name}" if self.proxy_table is not None else "give data.proxy_table"
                raise InvalidArgument(f"extra feature {name!r} is a zero-cost proxy: {where}; score it with `python -m lightning_nas score --proxies {name}`") from exc
            raise UnknownMetric(f"extra feature {name!r} is neither a column group {_groups_anywhere()}, a zero-cost proxy nor a benchmark column: {exc}") from exc

    @property
    def usable(self) -> np.ndarray:
        """Rows a predictor can read: in the table (when there is one), no NaN (not scored) and no
        +inf; -inf is a proxy's "worst possible" and enters the model below every real score."""
        return self.in_table & has_features(self.values)

    def rows(self, rows: Any, proxy_scores: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """[len(rows), columns] raw values; ``proxy_scores`` (name -> one score per row) replaces the
        table's for the proxy columns (a search scores candidates the table lacks)."""
        values = self.values[np.asarray(rows, dtype=np.int64)].copy()
        if proxy_scores:
            columns = np.flatnonzero(self.is_proxy)
            for column, name in zip(columns, self.proxies):
                values[:, column] = proxy_scores[name]
        return values


def has_features(extra: np.ndarray) -> np.ndarray:
    """Which rows of raw extra features [N, k] a predictor can read: no NaN (not scored) and no +inf."""
    return ~(np.isnan(extra) | np.isposinf(extra)).any(axis=1)

"""Costs and constraints on them, for hardware-aware search: ``latency:pixel3<=5``, ``flops<=100``, ``params<=1.5``.

A :class:`Cost` names what running an arch costs (its latency on a device setting, in ms; its FLOPs, in millions
of multiply-accumulates; its parameters, in millions); a :class:`Constraint` bounds one. Both are known for every
arch without training it, so a constrained search never spends a query on an arch outside the constraint.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import numpy as np

from lightning_nas.benchmarks.base import LATENCY, Benchmark, column_name
from lightning_nas.utils.errors import InvalidArgument, UnknownMetric

#: cost -> (unit the user writes limits in, how many table units one of them is)
UNITS = {"latency": ("ms", 1.0), "flops": ("M multiply-accumulates", 1e6), "params": ("M parameters", 1e6)}
COMPARISONS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
_WORDS = {"<=": "le", "<": "lt", ">=": "ge", ">": "gt"}
_COST = r"(?P<metric>[A-Za-z_]+)(?::(?P<setting>[\w.-]+))?"
_CONSTRAINT = re.compile(rf"^\s*{_COST}\s*(?P<op><=|>=|<|>)\s*(?P<limit>[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")
USAGE = "e.g. latency:pixel3<=5 (ms), flops<=100 (millions of multiply-accumulates), params<=1.5 (millions)"


@dataclass(frozen=True)
class Cost:
    """One cost of running an arch: ``latency`` on a device ``setting``, ``flops`` or ``params``."""

    metric: str
    setting: str | None = None

    @classmethod
    def parse(cls, text: str, benchmark: Benchmark) -> Cost:
        """``latency:<setting>``, ``flops`` or ``params``, checked against what ``benchmark`` has."""
        match = re.fullmatch(rf"\s*{_COST}\s*", text)
        if match is None:
            raise InvalidArgument(f"cost {text!r} is not latency:<setting>, flops or params")
        return cls._checked(match["metric"], match["setting"], benchmark, text)

    @classmethod
    def _checked(cls, metric: str, setting: str | None, benchmark: Benchmark, text: str) -> Cost:
        if metric not in UNITS:
            raise InvalidArgument(f"{text!r}: unknown cost {metric!r}; costs: latency:<setting>, flops, params ({USAGE})")
        if (metric == "latency") != (setting is not None):
            raise InvalidArgument(f"{text!r}: latency needs a device setting (latency:<setting>) and only latency takes one; settings: {', '.join(benchmark.latency_settings)}")
        if setting is not None and setting not in benchmark.latency_settings:
            settings = ", ".join(benchmark.latency_settings) or "none (the benchmark has no latency columns)"
            raise UnknownMetric(f"{text!r}: {benchmark!r} has no latency for device setting {setting!r}; settings: {settings}")
        return cls(metric, setting)

    def values(self, benchmark: Benchmark, dataset: str | None = None) -> np.ndarray:
        """This cost of every row of ``benchmark``, in the unit limits are written in (:data:`UNITS`)."""
        if self.metric == "latency":
            return benchmark.table.columns[column_name(self.setting, LATENCY)].astype(np.float64)
        return benchmark.column(self.metric, dataset).astype(np.float64) / UNITS[self.metric][1]

    def __str__(self) -> str:
        return self.metric if self.setting is None else f"{self.metric}:{self.setting}"

    @property
    def slug(self) -> str:
        """As a folder name: ``latency-pixel3``."""
        return str(self).replace(":", "-")

    @property
    def label(self) -> str:
        """For plot axes: ``latency on pixel3 (ms)``."""
        return f"{self.metric}{' on ' + self.setting if self.setting else ''} ({UNITS[self.metric][0]})"


@dataclass(frozen=True)
class Constraint:
    """``cost <op> limit`` (``<=``, ``<``, ``>=``, ``>``), e.g. ``latency:pixel3<=5``."""

    cost: Cost
    comparison: str
    limit: float

    @classmethod
    def parse(cls, text: str, benchmark: Benchmark) -> Constraint:
        match = _CONSTRAINT.match(text)
        if match is None:
            raise InvalidArgument(f"constraint {text!r} is not <cost><comparison><number>: {USAGE}; comparisons: {', '.join(COMPARISONS)}")
        return cls(Cost._checked(match["metric"], match["setting"], benchmark, text), match["op"], float(match["limit"]))

    def mask(self, benchmark: Benchmark, dataset: str | None = None) -> np.ndarray:
        """Which rows of ``benchmark`` satisfy the constraint."""
        return COMPARISONS[self.comparison](self.cost.values(benchmark, dataset), self.limit)

    def __str__(self) -> str:
        return f"{self.cost}{self.comparison}{self.limit:g}"

    @property
    def slug(self) -> str:
        """As a folder name: ``latency-pixel3_le_5``."""
        return f"{self.cost.slug}_{_WORDS[self.comparison]}_{self.limit:g}"

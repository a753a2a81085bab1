"""Extra predictor features by name: benchmark columns (``params``, ``flops``) and groups of
columns computed from the architecture (``cell_stats``), which expand to one name per column.

The datamodule, the model (its head width) and a search's scorer all resolve names here, so a
checkpoint trained with a group is scored with the same columns in the same order.
"""

from __future__ import annotations

import numpy as np

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.encodings.base import Encoding, encode
from lightning_nas.encodings.cell_stats import CELL_STATS, GROUP, CellStatistics
from lightning_nas.errors import UnknownMetric

#: group name -> (the encoding that computes it, its column names)
GROUPS: dict[str, tuple[type[Encoding], tuple[str, ...]]] = {GROUP: (CellStatistics, CELL_STATS)}


def expand_features(names: list[str] | None) -> list[str]:
    """One name per column: a group becomes ``group/<column>``, anything else stays."""
    return [column for n in names or [] for column in ([f"{n}/{c}" for c in GROUPS[n][1]] if n in GROUPS else [n])]


def feature_columns(bench: Benchmark, names: list[str], dataset: str | None = None) -> np.ndarray:
    """float32 [len(bench), len(expand_features(names))], the precision a predictor reads them
    in: benchmark columns on ``dataset``, groups computed from the benchmark's structure (cached
    on disk like an encoding). For NB101 with ``cell_stats`` this is ~95 MB, held by a search's
    scorer for the whole space."""
    blocks = []
    if any(name not in GROUPS for name in names):
        dataset = bench.resolve_dataset(dataset)  # an unknown dataset is that, not an unknown feature
    for name in names:
        if name in GROUPS:
            group = GROUPS[name][0]()
            group.check_space(bench.space, role="extra feature group")
            blocks.append(encode(group, bench.space, bench.structure).numpy().astype(np.float32, copy=False))
        else:
            try:
                blocks.append(bench.column(name, dataset).astype(np.float32)[:, None])
            except UnknownMetric as exc:  # say that a group would have been accepted as well
                raise UnknownMetric(f"extra feature {name!r} is neither a column group {sorted(GROUPS)} nor a benchmark column: {exc}") from exc
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(bench), 0), np.float32)

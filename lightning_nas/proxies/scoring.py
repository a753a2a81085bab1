"""Scoring many archs on Lightning's ``predict``: progress bar, devices/nodes, resumable table.

``Trainer.predict`` hands each rank its share of the archs still missing from the table
(Lightning's distributed sampler under DDP), :class:`ProxyScoringModule` scores a batch of them on
the rank's device, and :class:`ScoreTableWriter` writes every finished batch as a part of the
:class:`~lightning_nas.proxies.table.ScoreTable`; rank 0 merges the parts at the end.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import BasePredictionWriter
from torch.utils.data import DataLoader

from lightning_nas.benchmarks import Benchmark, create
from lightning_nas.utils.errors import InvalidArgument, require_count
from lightning_nas.proxies.evaluator import ProxyEvaluator, check_proxies, scoring_settings
from lightning_nas.proxies.table import ScoreTable


class ProxyScoringModule(L.LightningModule):
    """``predict_step`` scores a batch of benchmark rows with every requested proxy."""

    def __init__(self, space: str, proxies: list[str], dataset: str = "cifar10", images: str | None = None, seed: int = 0, root: str | None = None,
                 full_network: bool = False, protocol: dict[str, dict[str, Any]] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        _, protocols = check_proxies(space, proxies, full_network, protocol)  # named now, not when every rank sets up
        #: the scores' settings, known before :meth:`setup` builds the evaluator
        self.settings = scoring_settings(space, dataset, images, seed, full_network, protocols)
        self.evaluator: ProxyEvaluator | None = None
        self.benchmark: Benchmark | None = None

    def setup(self, stage: str) -> None:
        hp = self.hparams
        self.benchmark = create(hp.space, root=hp.root)
        # each rank scores on its own device (``--trainer.accelerator gpu``: its GPU)
        device = self.trainer.strategy.root_device
        self.evaluator = ProxyEvaluator(hp.space, hp.proxies, hp.dataset, hp.images, hp.seed, hp.root, hp.full_network, device=device, protocol=hp.protocol)

    def predict_step(self, rows: list[tuple[int, list[str]]], batch_idx: int) -> list[tuple[str, int, dict[str, float]]]:
        """``rows``: (benchmark row, proxies it still lacks) pairs -> (key, row, scores).
        Gradient-based proxies need autograd, hence ``enable_grad`` inside predict."""
        with torch.enable_grad():
            return [(str(self.benchmark.keys[row]), row, self.evaluator.score(self.benchmark.arch(row), only=todo)) for row, todo in rows]


class ScoreTableWriter(BasePredictionWriter):
    def __init__(self, table: ScoreTable) -> None:
        super().__init__(write_interval="batch")
        self.table = table
        # unique per run even when a resumed run starts in the same second and process as the
        # killed one (a repeated name would overwrite that run's parts and lose their archs)
        self.run = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"

    def on_predict_start(self, trainer: L.Trainer, pl_module: ProxyScoringModule) -> None:
        """Record the table's settings once every rank has set up (loaded its images, looked up its
        dataset): a run refused there leaves no record behind, and no part is ever written unrecorded."""
        if trainer.is_global_zero:
            self.table.record_settings(pl_module.settings)
        trainer.strategy.barrier()

    def write_on_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, prediction: Any, batch_indices: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        rows = {key: scores for key, _, scores in prediction}
        index = {key: row for key, row, _ in prediction}
        self.table.write_part(rows, index, f"{self.run}-r{trainer.global_rank:03d}-{batch_idx:07d}")

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.strategy.barrier()
        if trainer.is_global_zero:
            self.table.merge()


def select_rows(benchmark: Benchmark, archs: int | str, seed: int = 0) -> np.ndarray:
    """``"all"`` rows, or ``archs`` distinct rows drawn with ``seed`` (sorted)."""
    if archs == "all":
        return np.arange(len(benchmark))
    count = int(archs) if str(archs).isdigit() else 0
    if not 0 < count <= len(benchmark):
        raise InvalidArgument(f"--archs must be 'all' or 1..{len(benchmark)}, got {archs}")
    return np.sort(np.random.default_rng(seed).choice(len(benchmark), size=count, replace=False))


def score_archs(module: ProxyScoringModule, trainer: L.Trainer, table: ScoreTable, rows: np.ndarray, archs_per_batch: int = 8) -> int:
    """Score ``rows`` not yet in ``table`` (each only for the proxies it lacks); returns how
    many archs were scored in this run."""
    require_count("archs_per_batch", archs_per_batch, 1)
    if trainer.predict_loop.inference_mode:
        raise InvalidArgument("proxy scoring needs autograd: build the Trainer with inference_mode=False")
    table.check_settings(module.settings)
    benchmark = create(module.hparams.space, root=module.hparams.root)
    done, _ = table.load()
    todo = []
    for row in rows.tolist():
        lacking = [p for p in module.hparams.proxies if p not in done.get(str(benchmark.keys[row]), {})]
        if lacking:
            todo.append((row, lacking))
    if todo:
        trainer.callbacks.append(ScoreTableWriter(table))
        # each device must score at least one arch (Lightning's predict sampler asserts it): with fewer
        # archs left than devices, some score the last one again, which the table keeps once
        todo_on_every_device = todo + todo[-1:] * (trainer.world_size - len(todo))
        loader = DataLoader(todo_on_every_device, batch_size=archs_per_batch, collate_fn=list)
        trainer.predict(module, dataloaders=loader, return_predictions=False)
    else:
        table.record_settings(module.settings)  # adopts a table that has none (written by hand or by an older version)
        if table.parts.is_dir():
            table.merge()
    return len(todo)

"""``SearchCallback``: predictor-guided search right after ``fit``; :func:`search_with_scorer`
runs the same search with any scorer (a saved checkpoint, zero-cost proxies, none), behind
``python -m lightning_nas search``.

The archs the predictor was trained on (and validated on, when validation ran: their labels
picked the checkpoint) count as queries: they cost a training run each, like any other query.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.utilities import rank_zero_info

from lightning_nas.benchmarks.base import Benchmark
from lightning_nas.errors import InvalidArgument, LightningNASError
from lightning_nas.models import load_predictor, read_checkpoint
from lightning_nas.runs import log_image, run_folder
from lightning_nas.search.base import Scorer, SearchResult, SearchStrategy, check_search_settings, run_search
from lightning_nas.search.scorers import PredictorScorer


def labelled_rows(datamodule: Any, validated: bool) -> np.ndarray:
    """Benchmark rows whose labels the predictor saw: training rows, plus validation rows when
    validation ran (they chose the checkpoint)."""
    rows = [datamodule.train_rows] + ([datamodule.val_rows] if validated else [])
    return np.unique(np.concatenate(rows))


def search_with_scorer(
    strategy: SearchStrategy,
    benchmark: Benchmark,
    scorer: Scorer | None,
    budget: int,
    dataset: str | None = None,
    seeds: list[int] = (0,),
    initial_rows: np.ndarray | None = None,
    output: str | os.PathLike = "search",
    save_every: int = 10,
    progress: bool = True,
) -> list[SearchResult]:
    """One search per seed in ``output/seed<k>`` (resumable), plus ``output/trajectory.png``.
    ``initial_rows``: benchmark rows labelled before the search (a predictor's training archs)."""
    from lightning_nas.viz import search_trajectories

    check_search_settings(budget, save_every, seeds)
    initial = [benchmark.arch(int(r)) for r in (initial_rows if initial_rows is not None else [])]
    results = []
    for seed in seeds:
        folder = Path(output) / f"seed{seed}"
        results.append(run_search(strategy, benchmark, budget, dataset, scorer, seed, initial, folder, save_every, progress))
        rank_zero_info(f"search seed {seed}: {results[-1].summary()}")
    label = results[0].strategy + (f" + {getattr(scorer, 'name', type(scorer).__name__)}" if scorer is not None else "")
    curves = {label: np.stack([r.trajectory() for r in results if r.queries == budget] or [results[0].trajectory()])}
    search_trajectories(curves, Path(output) / "trajectory.png", title=f"{benchmark.space.name} {results[0].dataset}",
                        selected_on=results[0].select_column, labelled=len(initial))
    return results


def datamodule_settings(checkpoint: str | os.PathLike) -> dict[str, Any] | None:
    """The ArchDataModule settings a ``fit`` checkpoint records (None when it records none)."""
    hp = read_checkpoint(checkpoint).get("datamodule_hyper_parameters")
    return {k: v for k, v in hp.items() if not k.startswith("_")} if hp else None  # drop LightningCLI's _instantiator


def training_rows_of(settings: dict[str, Any]) -> np.ndarray:
    """Rows a ``fit`` checkpoint's predictor saw, redrawn from its :func:`datamodule_settings`."""
    from lightning_nas.datamodules import ArchDataModule

    datamodule = ArchDataModule(**settings)
    datamodule.split()
    return labelled_rows(datamodule, validated=True)


class SearchCallback(L.Callback):
    """Runs ``strategy`` with the freshly trained predictor as scorer when ``fit`` ends.

    Uses the best checkpoint when a ``ModelCheckpoint`` kept one. Results go to
    ``<default_root_dir>/<output>/<run>/seed<k>``; best-so-far accuracy vs queries is logged to
    every logger (W&B: against ``search/queries``) and the trajectory PNG as an image. Under DDP
    the device of global rank zero searches (and holds ``results`` and ``labelled``) while the others wait.

    Args:
        strategy: the search strategy (RandomSearch, RegularizedEvolution, Reinforce).
        budget: distinct archs whose accuracy may be read, the predictor's labelled archs included.
        dataset: benchmark dataset to search on; None = the benchmark's first.
        seeds: one search per seed; None = [0].
        output: folder under the trainer's default_root_dir.
        save_every: queries between saves of the resumable state.
        proxy_images: for a predictor fed zero-cost proxies, the image source its ``data.proxy_table``
            was scored on (``score --images``); None: the shared CIFAR-10 sample.
    """

    def __init__(
        self,
        strategy: SearchStrategy,
        budget: int,
        dataset: str | None = None,
        seeds: list[int] | None = None,
        output: str = "search",
        save_every: int = 10,
        proxy_images: str | None = None,
    ) -> None:
        seeds = [0] if seeds is None else seeds
        check_search_settings(budget, save_every, seeds)  # now, not after the fit
        self.strategy = strategy
        self.budget = budget
        self.dataset = dataset
        self.seeds = seeds
        self.output = output
        self.save_every = save_every
        self.proxy_images = proxy_images
        self.results: list[SearchResult] = []
        #: benchmark rows of the predictor's labelled archs, the first queries of each search
        self.labelled = np.empty(0, dtype=np.int64)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        benchmark = getattr(datamodule, "benchmark", None)  # Lightning sets the datamodule up first
        if stage == "fit" and benchmark is not None:
            benchmark.search_columns(self.dataset)  # an unknown dataset fails now, not after the fit
            hp = datamodule.hparams  # so do features the scorer cannot give candidates (e.g. the proxy table's images)
            PredictorScorer(pl_module, benchmark, self.dataset, hp.get("proxy_table"), hp.get("root"), "cpu", self.proxy_images)
            labelled = len(self._labelled_rows(trainer, datamodule))
            if labelled >= self.budget:  # the search would have no query of its own: say so now, not after training
                raise InvalidArgument(
                    f"SearchCallback budget {self.budget} does not exceed the {labelled} archs the predictor is labelled with "
                    f"(training and validation, which count as queries); give a budget above {labelled}"
                )

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        if datamodule is None or not hasattr(datamodule, "train_rows"):
            raise LightningNASError("SearchCallback needs fit to run with an ArchDataModule (it knows which archs were labelled)")
        if trainer.is_global_zero:  # a search is one sequence of queries: under DDP one device runs it
            self._search(trainer, pl_module, datamodule)
        trainer.strategy.barrier("search")  # the other devices wait for it before the test

    def _search(self, trainer: L.Trainer, pl_module: L.LightningModule, datamodule: Any) -> None:
        checkpoint = getattr(trainer.checkpoint_callback, "best_model_path", "")
        model = load_predictor(checkpoint) if checkpoint else pl_module
        hp = datamodule.hparams
        scorer = PredictorScorer(model, datamodule.benchmark, self.dataset, hp.get("proxy_table"), hp.get("root"), pl_module.device, self.proxy_images)
        folder = run_folder(trainer, self.output)
        self.labelled = self._labelled_rows(trainer, datamodule)
        self.results = search_with_scorer(
            self.strategy, datamodule.benchmark, scorer, self.budget, self.dataset, self.seeds,
            self.labelled, folder, self.save_every, progress=trainer.progress_bar_callback is not None,
        )
        self._log(trainer, folder / "trajectory.png")

    @staticmethod
    def _labelled_rows(trainer: L.Trainer, datamodule: Any) -> np.ndarray:
        """The archs whose labels this fit used, which the search counts as queries: the validation
        archs too, unless validation was switched off (they chose the checkpoint)."""
        return labelled_rows(datamodule, validated=trainer.limit_val_batches != 0)

    def _log(self, trainer: L.Trainer, plot: Path) -> None:
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "define_metric"):  # W&B: plot search curves against queries
                experiment.define_metric("search/best*", step_metric="search/queries")
            for q in self.results[0].history:
                logger.log_metrics({"search/queries": q.queries, "search/best_select_acc": q.best_select, "search/best_test_acc": q.best_report})
            best = [r.best.best_report for r in self.results]
            logger.log_metrics({"search/final_best_test_acc": float(np.mean(best))})
        log_image(trainer, "search/trajectory", plot)

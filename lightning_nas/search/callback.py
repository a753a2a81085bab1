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
from lightning_nas.benchmarks.budget import QueryBudget, TrainingFreeBudget
from lightning_nas.benchmarks.constraints import Constraint, Cost
from lightning_nas.models import load_predictor
from lightning_nas.search.base import Scorer, SearchResult, SearchStrategy, check_search_settings, run_search
from lightning_nas.search.pareto import pareto_search
from lightning_nas.search.scorers import PredictorScorer
from lightning_nas.utils.errors import InvalidArgument, LightningNASError, require_count
from lightning_nas.utils.runs import log_image, run_folder


def search_with_scorer(
    strategy: SearchStrategy,
    benchmark: Benchmark,
    scorer: Scorer | None,
    budget: int | None,
    dataset: str | None = None,
    seeds: list[int] = (0,),
    initial_rows: np.ndarray | None = None,
    output: str | os.PathLike = "search",
    save_every: int = 10,
    progress: bool = True,
    select: str | None = None,
    seconds: float | None = None,
    signal: int | None = None,
    constraint: str | None = None,
    pareto: str | None = None,
    pareto_points: int = 4,
    training_free: bool = False,
) -> list[SearchResult]:
    """One search per seed in ``output/seed<k>`` (resumable), plus ``output/trajectory.png``.

    ``budget`` queries and/or ``seconds`` of simulated training of ``signal``-epoch runs (see :class:`QueryBudget`);
    ``initial_rows``: benchmark rows labelled before the search (a predictor's training archs); ``select``: another
    metric to select on than validation accuracy; ``constraint``: e.g. ``latency:pixel3<=5``. ``pareto`` (a cost,
    e.g. ``latency:pixel3``) runs Pareto mode instead (:func:`~lightning_nas.search.pareto.pareto_search`): the
    front per seed in ``output/seed<k>/pareto.json`` and ``output/pareto.png``; the results are its searches'.
    ``training_free``: ``scorer`` is the fitness of a zero-query search (:class:`TrainingFreeBudget`), ``budget``
    the archs it may score; the benchmark is read once per seed, for the arch reported."""
    from lightning_nas.viz import search_trajectories, search_trajectories_over_time

    check_search_settings(save_every, seeds)
    if training_free:
        if scorer is None or budget is None:
            raise InvalidArgument("a training-free search needs a scorer (its fitness) and a budget of archs to score")
        if seconds is not None or signal is not None or pareto is not None:
            raise InvalidArgument("a training-free search trains nothing and reads one accuracy: --time_budget, --signal and --pareto do not apply")
        if select is not None:
            raise InvalidArgument("a training-free search selects on its fitness: --select does not apply")
        initial_rows = None  # a predictor's labelled archs were read when it was fit; the search itself reads one
    if budget is not None:
        QueryBudget.require_queries(budget)
    limit = Constraint.parse(constraint, benchmark) if constraint else None
    cost = Cost.parse(pareto, benchmark) if pareto else None
    if limit is not None and cost is not None:
        raise InvalidArgument("--pareto sets its own constraints on the cost it trades accuracy against: give --constraint or --pareto, not both")
    if cost is not None:
        require_count("pareto points", pareto_points, 1)
        if budget is not None and budget < pareto_points:
            raise InvalidArgument(f"Pareto mode splits the budget over {pareto_points} searches: give a budget of at least {pareto_points} queries, or fewer --pareto_points")

    def make_budget(constraint: Constraint | None, share: float = 1.0) -> QueryBudget:
        if training_free:
            return TrainingFreeBudget(benchmark, budget, scorer, dataset, constraint)
        queries = None if budget is None else int(budget * share)  # at least 1: budget >= pareto_points
        return QueryBudget(benchmark, queries, dataset, select, None if seconds is None else seconds * share, signal, constraint)

    initial = [benchmark.arch(int(r)) for r in (initial_rows if initial_rows is not None else [])]
    results, fronts = [], []
    for seed in seeds:
        folder = Path(output) / f"seed{seed}"
        if cost is not None:
            front, runs = pareto_search(strategy, make_budget, cost, pareto_points, scorer, seed, initial, folder, save_every, progress)
            results.extend(runs)
            fronts.append(front)
            rank_zero_info(f"search seed {seed}: Pareto front of {len(front)} archs (test accuracy vs {cost}): "
                           + ", ".join(f"{a.report:.2f}% at {a.cost:.3g}" for a in front))
            continue
        # a training-free search's scorer is its budget's fitness, not a pre-screen of candidates
        results.append(run_search(strategy, make_budget(limit), None if training_free else scorer, seed, initial, folder, save_every, progress))
        rank_zero_info(f"search seed {seed}: {results[-1].summary()}")
    if cost is not None:
        _plot_pareto(benchmark, results[0], cost, fronts, Path(output) / "pareto.png", scorer)
        return results
    if len(results) > 1:
        reported = np.array([r.best.best_report for r in results])
        rank_zero_info(f"{results[0].report_column} of the arch found, over {len(results)} seeds: {reported.mean():.2f} ± {reported.std(ddof=1):.2f} (mean ± std)")
    if training_free:  # no accuracy is read before the end: there is no curve of it to draw
        return results
    label = _label(results[0], scorer)
    title = f"{benchmark.space.name} {results[0].dataset}" + (f", {limit}" if limit is not None else "")
    if seconds is not None:
        search_trajectories_over_time({label: [(r.seconds(), r.trajectory()) for r in results]}, seconds, Path(output) / "trajectory.png",
                                      title=title, selected_on=results[0].select_column)
    else:
        curves = {label: np.stack([r.trajectory() for r in results if r.queries == budget] or [results[0].trajectory()])}
        search_trajectories(curves, Path(output) / "trajectory.png", title=title, selected_on=results[0].select_column, labelled=len(initial))
    return results


def _label(result: SearchResult, scorer: Scorer | None) -> str:
    return result.strategy + (f" + {getattr(scorer, 'name', type(scorer).__name__)}" if scorer is not None else "")


def _plot_pareto(benchmark: Benchmark, result: SearchResult, cost: Cost, fronts: list, path: Path, scorer: Scorer | None) -> None:
    from lightning_nas.viz import pareto_plot

    values = cost.values(benchmark, result.dataset)
    runs = [(np.array([a.cost for a in front]), np.array([a.report for a in front])) for front in fronts]
    pareto_plot(values, benchmark.table.columns[result.report_column], {_label(result, scorer): runs}, path, cost.label,
                title=f"{benchmark.space.name} {result.dataset}: {result.report_column} vs {cost}")


class SearchCallback(L.Callback):
    """Runs ``strategy`` with the freshly trained predictor as scorer when ``fit`` ends.

    Uses the best checkpoint when a ``ModelCheckpoint`` kept one. Results go to
    ``<default_root_dir>/runs/<config>/<run>/<output>/seed<k>``; best-so-far accuracy vs queries is logged to
    every logger (W&B: against ``search/queries``) and the trajectory PNG as an image. Under DDP
    the device of global rank zero searches (and holds ``results`` and ``labelled``) while the others wait.

    Args:
        strategy: the search strategy (RandomSearch, RegularizedEvolution, Reinforce).
        budget: distinct archs whose accuracy may be read, the predictor's labelled archs included.
        dataset: benchmark dataset to search on; None = the benchmark's first.
        seeds: one search per seed; None = [0].
        output: folder in the run's own folder (utils.runs.run_folder).
        save_every: queries between saves of the resumable state.
        proxy_images: for a predictor fed zero-cost proxies, the image source its ``data.proxy_table``
            was scored on (``score --images``); None: the shared CIFAR-10 sample.
        constraint: only archs within it, e.g. ``latency:pixel3<=5`` (see :class:`~lightning_nas.benchmarks.constraints.Constraint`).
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
        constraint: str | None = None,
    ) -> None:
        seeds = [0] if seeds is None else seeds
        QueryBudget.require_queries(budget)  # now, not after the fit
        check_search_settings(save_every, seeds)
        self.strategy = strategy
        self.budget = budget
        self.dataset = dataset
        self.seeds = seeds
        self.output = output
        self.save_every = save_every
        self.proxy_images = proxy_images
        self.constraint = constraint
        self.results: list[SearchResult] = []
        #: benchmark rows of the predictor's labelled archs, the first queries of each search
        self.labelled = np.empty(0, dtype=np.int64)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        benchmark = getattr(datamodule, "benchmark", None)  # Lightning sets the datamodule up first
        if stage == "fit" and benchmark is not None:
            # an unknown dataset, or a budget that would leave the search no query of its own, fails now, not after the fit
            constraint = Constraint.parse(self.constraint, benchmark) if self.constraint else None
            QueryBudget(benchmark, self.budget, self.dataset, constraint=constraint).require_room(len(datamodule.split.labelled_rows(_validated(trainer))))
            hp = datamodule.hparams  # so do features the scorer cannot give candidates (e.g. the proxy table's images)
            PredictorScorer(pl_module, benchmark, self.dataset, hp.get("proxy_table"), hp.get("root"), "cpu", self.proxy_images)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        if getattr(datamodule, "split", None) is None:
            raise LightningNASError("SearchCallback needs fit to run with an ArchDataModule (it knows which archs were labelled)")
        if trainer.is_global_zero:  # a search is one sequence of queries: under DDP one device runs it
            self._search(trainer, pl_module, datamodule)
        trainer.strategy.barrier("search")  # the other devices wait for it before the test

    def _search(self, trainer: L.Trainer, pl_module: L.LightningModule, datamodule: Any) -> None:
        checkpoint = getattr(trainer.checkpoint_callback, "best_model_path", "")
        model = load_predictor(checkpoint) if checkpoint else pl_module
        hp = datamodule.hparams
        scorer = PredictorScorer(model, datamodule.benchmark, self.dataset, hp.get("proxy_table"), hp.get("root"), pl_module.device, self.proxy_images)
        folder = run_folder(trainer) / self.output
        self.labelled = datamodule.split.labelled_rows(_validated(trainer))
        self.results = search_with_scorer(
            self.strategy, datamodule.benchmark, scorer, self.budget, self.dataset, self.seeds,
            self.labelled, folder, self.save_every, progress=trainer.progress_bar_callback is not None, constraint=self.constraint,
        )
        self._log(trainer, folder / "trajectory.png")

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


def _validated(trainer: L.Trainer) -> bool:
    """Whether the fit validated: then its validation archs' labels chose the checkpoint, and count as queries."""
    return trainer.limit_val_batches != 0

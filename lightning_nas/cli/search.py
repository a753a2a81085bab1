"""``search``: a search against a benchmark, optionally guided by a predictor checkpoint or zero-cost proxies."""

from __future__ import annotations

import sys

from pathlib import Path
from typing import Any

from lightning_nas.cli.configs import config_values, resolve_config_paths
from lightning_nas.utils.errors import BenchmarkFileError, InvalidArgument, require_device


def search(argv: list[str]) -> int:
    """``search --config configs/search_rea_201.yaml [--predictor CKPT | --proxies naswot,synflow]``:
    a search against a benchmark, optionally guided by a trained predictor (its training archs
    count as queries) or by zero-cost proxies (several: TE-NAS's rank combination). Zero-query, as
    NASWOT / TE-NAS / TEGNAS search: ``--training_free true`` (configs/search_training_free_201.yaml). NATS-Bench's
    protocol: ``--time_budget 20000 --signal 12`` (configs/search_nats_*.yaml); hardware-aware:
    ``--constraint latency:pixel3<=5``, or ``--pareto latency:pixel3`` for the front."""
    from jsonargparse import ActionConfigFile, ArgumentParser

    from lightning_nas.benchmarks import BENCHMARKS, create
    from lightning_nas.search import PredictorScorer, ProxyScorer, SearchStrategy, load_predictor
    from lightning_nas.datamodules.split import labelled_rows_of
    from lightning_nas.search.callback import search_with_scorer
    from lightning_nas.utils.checkpoints import datamodule_settings

    parser = ArgumentParser(prog="python -m lightning_nas search", description=search.__doc__, default_config_files=[], exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile, help="YAML with any of the options below")
    parser.add_subclass_arguments(SearchStrategy, "strategy", required=True, help="RandomSearch, RegularizedEvolution, Reinforce or BOHB (or the dot path of a SearchStrategy subclass)")
    parser.add_argument("--space", choices=sorted(BENCHMARKS), required=True)
    parser.add_argument("--dataset", type=str | None, default=None, help="benchmark dataset (default: the benchmark's first)")
    parser.add_argument("--budget", type=int | None, default=None, help="queries: distinct archs whose accuracy may be read (with --signal: training runs)")
    parser.add_argument("--time_budget", type=float | None, default=None, help="simulated training seconds the search may spend (NATS-Bench: 20000 / 40000 / 120000 for CIFAR-10 / CIFAR-100 / ImageNet16-120)")
    parser.add_argument("--signal", type=int | None, default=None,
                        help="select on simulated training runs of this many epochs (NATS-Bench's hp: 12 or 200), one seed drawn per run; default 12 with --time_budget")
    parser.add_argument("--constraint", type=str | None, default=None, help="only archs within it, e.g. latency:pixel3<=5 (ms), flops<=100 (M), params<=1.5 (M)")
    parser.add_argument("--pareto", type=str | None, default=None, help="Pareto mode: the front of accuracy against this cost, e.g. latency:pixel3, flops, params")
    parser.add_argument("--pareto_points", type=int, default=4, help="constrained searches (cost limits at quantiles of the space) the budget is split over in Pareto mode")
    parser.add_argument("--select", type=str | None, default=None,
                        help="the metric to select archs on instead of validation accuracy, e.g. test_acc (recorded in best.json); an arch without a value is an error")
    parser.add_argument("--predictor", type=str | None, default=None, help="checkpoint written by fit; its scores rank candidates")
    parser.add_argument("--proxies", type=str | None, default=None, help="comma-separated zero-cost proxies that rank candidates instead, e.g. naswot,synflow")
    parser.add_argument("--proxy_table", type=str | None, default=None, help="score table (from 'score') with precomputed proxy scores")
    parser.add_argument("--proxy_dataset", type=str | None, default=None, help="images and classifier size the proxies use (default: cifar10)")
    parser.add_argument("--proxy_images", type=str | None, default=None,
                        help="image source the proxies score on, as `score --images` (default: the shared CIFAR-10 sample); with --predictor, the one its proxy table was scored on")
    parser.add_argument("--proxy_seed", type=int, default=0, help="the proxies' image draw and initialisation seed, as `score --seed`")
    parser.add_argument("--full_network", type=bool, default=False, help="tenas_ntk on the benchmark network, as `score --full_network true` (a --proxy_table made so needs it)")
    parser.add_argument("--protocol", type=dict[str, dict[str, Any]] | None, default=None, help="per-proxy changes to its paper's protocol, as `score --protocol`")
    parser.add_argument("--training_free", type=bool, default=False,
                        help="zero-query search: --proxies (or --predictor) are the fitness, --budget counts archs scored, and the benchmark is read once, for the arch reported")
    parser.add_argument("--reference", type=int | None, default=None,
                        help="random archs that several --proxies are ranked against, so each arch's fitness stands alone (default 100 with --training_free)")
    parser.add_argument("--seeds", type=list[int], default=[0])
    parser.add_argument("--output", type=str | None, default=None,
                        help="folder for state, trajectories, best.json, plot (default: search/<config>/<strategy>[+<scorer>]-<dataset>; the same command resumes there)")
    parser.add_argument("--save_every", type=int, default=10, help="queries between state saves")
    parser.add_argument("--root", type=str | None, default=None, help="data folder (default: $LIGHTNING_NAS_DATA, else ./data)")
    parser.add_argument("--device", type=str, default="cpu", help="torch device the predictor or the proxies score on, e.g. cuda")
    cfg = parser.instantiate(parser.parse_args(resolve_config_paths(argv)))

    if cfg.predictor and cfg.proxies:
        raise InvalidArgument("give --predictor or --proxies, not both")
    if not cfg.proxies and (cfg.proxy_table or cfg.proxy_dataset or cfg.full_network or cfg.proxy_seed or cfg.protocol or cfg.reference):  # they would go unused
        raise InvalidArgument("--proxy_table, --proxy_dataset, --proxy_seed, --protocol, --reference and --full_network set up --proxies; give the proxies that rank candidates, e.g. --proxies synflow")
    if cfg.training_free and not (cfg.proxies or cfg.predictor):
        raise InvalidArgument("--training_free searches on a fitness that reads no benchmark value: give --proxies (e.g. synflow) or a --predictor")
    if cfg.training_free and cfg.budget is None:
        raise InvalidArgument("--training_free needs --budget: the archs the search may score (NASWOT: 10 or 100)")
    if not (cfg.proxies or cfg.predictor) and cfg.proxy_images:
        raise InvalidArgument("--proxy_images sets up --proxies (or a --predictor fed proxy scores); give the proxies that rank candidates, e.g. --proxies synflow")
    if cfg.budget is None and cfg.time_budget is None:
        raise InvalidArgument("give --budget (queries) or --time_budget (simulated training seconds), or both")
    device = require_device("--device", cfg.device)
    bench = create(cfg.space, root=cfg.root, progress=True)
    scorer = rows = None
    if cfg.predictor:
        settings = datamodule_settings(cfg.predictor)  # read once: the fit's split and proxy table
        proxy_table = (settings or {}).get("proxy_table")  # the fit's proxy scores, if it read any
        try:
            scorer = PredictorScorer(load_predictor(cfg.predictor).to(device), bench, cfg.dataset, proxy_table, cfg.root, device, cfg.proxy_images)
        except BenchmarkFileError as exc:
            if proxy_table is None:
                raise
            raise BenchmarkFileError(f"{exc} ({cfg.predictor} was fit with data.proxy_table {proxy_table}: run the search from the folder the fit ran in)") from None
        if settings is None:
            print(f"warning: {cfg.predictor} does not record its training archs; they are not counted as queries", file=sys.stderr)
        else:
            rows = labelled_rows_of(settings, bench)
            if cfg.signal is not None or cfg.time_budget is not None:
                require_labels_of_signal(settings, bench, cfg.dataset, cfg.signal or 12)
    elif cfg.proxies:
        names = proxy_names(cfg.proxies)
        reference = cfg.reference if cfg.reference is not None or not cfg.training_free or len(names) == 1 else 100
        scorer = ProxyScorer(bench.space.name, names, cfg.proxy_dataset or "cifar10", cfg.proxy_table, cfg.proxy_images, cfg.proxy_seed,
                             cfg.root, device, cfg.full_network, cfg.protocol, reference)
    output = cfg.output or default_output(argv, cfg, bench)
    search_with_scorer(cfg.strategy, bench, scorer, cfg.budget, cfg.dataset, cfg.seeds, rows, output, cfg.save_every, select=cfg.select,
                       seconds=cfg.time_budget, signal=cfg.signal, constraint=cfg.constraint, pareto=cfg.pareto, pareto_points=cfg.pareto_points,
                       training_free=cfg.training_free)
    outputs = "pareto.json and one search per cost limit per seed; pareto.png" if cfg.pareto else "best.json, trajectory.csv per seed" + ("" if cfg.training_free else "; trajectory.png")
    print(f"results in {output}/ ({outputs})")
    return 0


def require_labels_of_signal(settings: dict[str, Any], bench: Any, dataset: str | None, signal: int) -> None:
    """A predictor's labelled archs are the search's first simulated training runs, so its labels must be what
    those runs read: the validation accuracy of ``signal``-epoch runs (``fit --data.metric val_acc --data.epochs 12``)."""
    labels = bench.resolve_column(settings.get("dataset"), settings.get("metric", "test_acc"), settings.get("epochs"))
    wanted = bench.training_columns(dataset, signal).name
    if labels != wanted:
        raise InvalidArgument(
            f"the predictor was fit on {labels}, but under simulated training its labelled archs are the search's first {signal}-epoch runs, "
            f"which read {wanted}: fit it on those labels (--data.dataset {wanted.split('/')[0]} --data.metric val_acc --data.epochs {signal}), or search with --budget alone"
        )


def default_output(argv: list[str], cfg: Any, bench: Any) -> str:
    """``search/<config>/<strategy>[+<scorer>]-<dataset>[-<constraint>][-pareto-<cost>]``: a folder per config, strategy,
    scorer, dataset and constraint, so that different searches never meet in one, and rerunning a command resumes its own search."""
    from lightning_nas.benchmarks.constraints import Constraint, Cost

    dataset = bench.resolve_dataset(cfg.dataset)
    configs = [Path(value).stem for _, value, _ in config_values(resolve_config_paths(argv)) if Path(value).is_file()]
    base = configs[-1] if configs else cfg.space
    scorer = Path(cfg.predictor).stem if cfg.predictor else "+".join(proxy_names(cfg.proxies)) if cfg.proxies else ""
    name = f"{type(cfg.strategy).__name__}{'+' + scorer if scorer else ''}{'-training-free' if cfg.training_free else ''}-{dataset}"
    if cfg.constraint:
        name += "-" + Constraint.parse(cfg.constraint, bench).slug
    if cfg.pareto:
        name += "-pareto-" + Cost.parse(cfg.pareto, bench).slug
    return str(Path("search") / base / name)


def proxy_names(text: str) -> list[str]:
    """``--proxies naswot, synflow,`` -> ["naswot", "synflow"]."""
    return [name.strip() for name in text.split(",") if name.strip()]

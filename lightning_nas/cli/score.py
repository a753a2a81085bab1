"""``score``: zero-cost proxy scores of many archs into a resumable table, on Lightning's ``predict``."""

from __future__ import annotations

from typing import Any

from lightning_nas.cli.configs import resolve_config_paths
from lightning_nas.cli.search import proxy_names


def score(argv: list[str]) -> int:
    """``score --space nb201 --proxies naswot,synflow --dataset cifar10 --archs 1000``: zero-cost
    proxy scores into a resumable table; ``--trainer.devices/--trainer.num_nodes`` spread the
    archs over devices with Lightning."""
    import lightning as L
    from jsonargparse import ActionConfigFile, ArgumentParser

    from lightning_nas.benchmarks import BENCHMARKS, create
    from lightning_nas.proxies import PROXIES
    from lightning_nas.proxies.scoring import ProxyScoringModule, score_archs, select_rows
    from lightning_nas.proxies.table import ScoreTable

    parser = ArgumentParser(prog="python -m lightning_nas score", description=score.__doc__, default_config_files=[], exit_on_error=False)
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_argument("--space", choices=sorted(BENCHMARKS), required=True)
    parser.add_argument("--proxies", type=str, required=True, help=f"comma-separated, from {','.join(sorted(PROXIES))}")
    parser.add_argument("--dataset", type=str, default="cifar10", help="classifier size and image normalisation")
    parser.add_argument("--archs", type=str, default="all", help="'all' or a number of random archs (seeded)")
    parser.add_argument("--images", type=str | None, default=None, help="CIFAR/ImageNet16 folder or .npz (default: the shared CIFAR-10 sample)")
    parser.add_argument("--output", type=str | None, default=None, help="score table CSV (default: scores/<space>-<dataset>.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full_network", type=bool, default=False, help="tenas_ntk on the benchmark network, not TE-NAS's small one (tenas_lr has only its own)")
    parser.add_argument("--protocol", type=dict[str, dict[str, Any]] | None, default=None,
                        help='per-proxy changes to its paper\'s protocol, e.g. \'{"tenas_ntk": {"repeats": 1}}\' (batch_size, repeats, repeat_over, init, augment; rbflex: gammas)')
    parser.add_argument("--archs_per_batch", type=int, default=8, help="archs per predict batch (= per saved part)")
    parser.add_argument("--root", type=str | None, default=None, help="data folder (default: $LIGHTNING_NAS_DATA, else ./data)")
    parser.add_class_arguments(L.Trainer, "trainer", default={"logger": False, "enable_checkpointing": False, "enable_model_summary": False, "inference_mode": False})
    cfg = parser.parse_args(resolve_config_paths(argv))

    table = ScoreTable(cfg.output or f"scores/{cfg.space}-{cfg.dataset}.csv")
    module = ProxyScoringModule(cfg.space, proxy_names(cfg.proxies), cfg.dataset, cfg.images, cfg.seed, cfg.root, cfg.full_network, cfg.protocol)
    rows = select_rows(create(cfg.space, root=cfg.root, progress=True), cfg.archs, cfg.seed)
    trainer = L.Trainer(**cfg.trainer.as_dict())
    scored = score_archs(module, trainer, table, rows, cfg.archs_per_batch)
    if trainer.is_global_zero:  # every rank of a multi-device run gets here
        print(f"{scored} of {len(rows)} archs scored in this run ({len(rows) - scored} were already in the table); table: {table.path}")
    return 0

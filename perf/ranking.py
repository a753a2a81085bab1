"""Kendall tau of the shipped predictor configs over seeds. Prints JSON lines.

    python perf/ranking.py [--seeds 5] [--start-seed 0] [--only gnn_201,gnn_201:1563,...]
    python perf/ranking.py --proxies     # with vs without zero-cost proxy features
    python perf/ranking.py --labels      # the NB101 4,236 GIN with more labelled cells
    python perf/ranking.py --darts       # the GIN on 10 % of NAS-Bench-301's published DARTS cells, beside single proxies

``--darts`` fits ``gnn_darts.yaml`` on 122 of the 1,218 cells (``../shared/data/zc``) and tests on the
other 1,096; beside each run, the Kendall tau of single proxies on the same test cells, from the
score table ``perf/proxies.py --space darts`` wrote (proxies missing there are skipped).

``--proxies`` compares each predictor without extra features, with the cost proxies (params,
FLOPs: known for every arch, so tested on the whole rest of the space) and with zero-cost proxies
computed on networks (on the pool of a score table built by ``python -m lightning_nas score``,
tables named in ``PROXY_TABLES``): 424 (NB101) / 156 (NB201) training archs, the rest for test.
``--labels`` fits the NB101 4,236 GIN (``gnn_101_4236.yaml``) on more labelled cells (as shipped on
2x, as a quicker 2-member ensemble on 1x, 2x and 4x), to measure how many labels its target asks for.

Each run is ``python -m lightning_nas fit --config <config>`` in-process (same config, with
``seed_everything``/``data.seed`` = seed and no logger/checkpoints), then ``test`` on every arch
not used for training. One line per run (``figure: ktau``) and a mean/std line per setting.
A setting with a teacher (self-training ``gnn_101:self-train``; the CNN taught by the GIN ensemble,
``renas_101_4236:gin-teacher``, or by its own ensemble, ``renas_101_4236:self-teacher``) first fits
the teacher's config the same way on the same split, writes the teacher's scores of every arch (as
``predict`` does) and fits with them as pseudo-labels (``data.pseudo_labels``); the pseudo-labelled
archs leave the test set.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from typing import Any

import numpy as np

from _shared import SHARED_DATA

# Overrides key of a setting with a teacher: (teacher's config, its overrides); its scores become the pseudo-labels
TEACHER = "teacher"
# The NB101 configs' head features without cell_stats (what the CNN had before; what the GNN has)
COST = {"data.extra_features": "[params, flops]"}
NONE = {"data.extra_features": "[]"}
# labels that average run 0's test accuracy and another run's validation accuracy (30,001 cells have both)
TWO_RUNS = {"data.train_metrics": "[test_acc_run0, val_acc_single_run]"}
# mlp_201.yaml moved to NB101
MLP_101 = {"data.space": "nb101", "data.dataset": "null", "data.metric": "test_acc_run0", "data.extra_features": "[params, flops]"}
# the MLP's four settings (name for --only: overrides of mlp_201.yaml)
MLP_RUNS = {
    "mlp_201": {},
    "mlp_201:1563": {"data.num_train": 1563, "trainer.max_epochs": 60},
    "mlp_101": {**MLP_101, "data.num_train": 424},
    "mlp_101:4236": {**MLP_101, "data.num_train": 4236, "trainer.max_epochs": 60},
}
# (name for --only, label, config, overrides): the settings the predictor issue asks for
SETTINGS = [
    ("gnn_201", "gnn", "gnn_201.yaml", {}),
    ("gnn_201:1563", "gnn", "gnn_201.yaml", {"data.num_train": 1563, "trainer.max_epochs": 60}),
    ("renas_201", "renas", "renas_201.yaml", {}),
    ("renas_201:1563", "renas", "renas_201.yaml", {"data.num_train": 1563, "trainer.max_epochs": 60}),
    ("gnn_101", "gnn", "gnn_101.yaml", {}),
    ("renas_101", "renas+cell_stats", "renas_101.yaml", {}),
    ("gnn_101:4236", "gnn", "gnn_101_4236.yaml", {}),
    ("renas_101_4236", "renas+cell_stats", "renas_101_4236.yaml", {}),
    # the NB101 heads with and without the order-free cell statistics (extra-feature group cell_stats)
    ("renas_101:no-cell-stats", "renas", "renas_101.yaml", COST),
    ("renas_101_4236:no-cell-stats", "renas", "renas_101_4236.yaml", COST),
    ("gnn_101:cell-stats", "gnn+cell_stats", "gnn_101.yaml", {"data.extra_features": "[params, flops, cell_stats]"}),
    # self-training: the gnn_101 ensemble (the teacher, fit first on the same split) pseudo-labels 2,000 other cells
    ("gnn_101:self-train", "gnn+self-training", "gnn_101.yaml", {TEACHER: ("gnn_101.yaml", {}), "data.num_pseudo": 2000, "trainer.max_epochs": 60}),
    # distillation: the 4,236 GIN ensemble's scores pseudo-label 16,000 cells for the 4,236 CNN (distill_101_4236.yaml)
    ("renas_101_4236:gin-teacher", "renas+cell_stats+gin-teacher", "renas_101_4236.yaml", {TEACHER: ("gnn_101_4236.yaml", {}), "data.num_pseudo": 16000}),
    # ... and, for comparison, by the CNN ensemble itself: what the 16,000 more cells add without a better ranking
    ("renas_101_4236:self-teacher", "renas+cell_stats+self-teacher", "renas_101_4236.yaml", {TEACHER: ("renas_101_4236.yaml", {}), "data.num_pseudo": 16000}),
    # two-run labels (TWO_RUNS): training cells are drawn from the 30,001 that have both runs; the test stays on
    # run 0's test accuracy of every other cell
    ("gnn_101:4236-two-runs", "gnn, two-run labels", "gnn_101_4236.yaml", TWO_RUNS),
    ("renas_101_4236:two-runs", "renas+cell_stats, two-run labels", "renas_101_4236.yaml", TWO_RUNS),
    # the one-hot MLP baseline (mlp_201.yaml; on NB101 with the NB101 labels and head features) ...
    *((name, "mlp", "mlp_201.yaml", overrides) for name, overrides in MLP_RUNS.items()),
    # ... and the same MLP over BANANAS' path encoding
    *((f"{name}:path", "mlp+path", "mlp_201.yaml", {**overrides, "data.encoding": "path"}) for name, overrides in MLP_RUNS.items()),
]
PROXY_TABLES = {"nb201": "scores/perf-nb201-cifar10.csv", "nb101": "scores/perf-nb101-cifar10.csv"}
NB201_PROXIES = "params,flops,naswot,jacov,synflow,snip,grad_norm,fisher,tenas_ntk,tenas_lr,rbflex"
NB101_PROXIES = "params,flops,synflow,rbflex,grad_norm"  # what fits in a session on this CPU for 1,200 NB101 cells
SINGLE = {"model.init_args.ensemble_size": 1}  # the with/without comparison on NB101 uses one CNN, not the shipped ensemble


def pool(space: str, features: str | None = None) -> dict:
    """Overrides for a run on ``space``'s score-table pool of archs; ``features`` (comma-separated,
    "" = none) replaces the config's extra features."""
    overrides = {"data.proxy_table": PROXY_TABLES[space]}
    if features is not None:
        overrides["data.extra_features"] = f"[{features}]"
    return overrides


# (name for --only, label, config, overrides) for --proxies. The cost proxies (params, FLOPs) are
# known for every arch, so those settings test on the whole rest of the space; settings with
# zero-cost proxies computed on networks use a score table's pool of archs (train + test).
PROXY_SETTINGS = [
    ("gnn_101:none", "gnn", "gnn_101.yaml", NONE),
    ("gnn_101:cost", "gnn+params,flops", "gnn_101.yaml", {}),
    ("renas_101:none", "renas", "renas_101.yaml", {**SINGLE, **NONE}),
    ("renas_101:cost", "renas+params,flops", "renas_101.yaml", {**SINGLE, **COST}),
    ("gnn_101:pool-none", "gnn", "gnn_101.yaml", pool("nb101", "")),
    ("gnn_101:pool-cost", "gnn+params,flops", "gnn_101.yaml", pool("nb101")),
    ("gnn_101:pool-synflow", "gnn+params,flops,synflow", "gnn_101.yaml", pool("nb101", "params,flops,synflow")),
    ("renas_101:pool-none", "renas", "renas_101.yaml", {**SINGLE, **pool("nb101", "")}),
    ("renas_101:pool-cost", "renas+params,flops", "renas_101.yaml", {**SINGLE, **pool("nb101", "params,flops")}),
    ("renas_101:pool-synflow", "renas+params,flops,synflow", "renas_101.yaml", {**SINGLE, **pool("nb101", "params,flops,synflow")}),
    ("renas_101:pool-zc", f"renas+{NB101_PROXIES}", "renas_101.yaml", {**SINGLE, **pool("nb101", NB101_PROXIES)}),
    ("gnn_101:pool-zc", f"gnn+{NB101_PROXIES}", "gnn_101.yaml", pool("nb101", NB101_PROXIES)),
    ("gnn_201:pool-none", "gnn", "gnn_201.yaml", pool("nb201", "")),
    ("gnn_201:pool-cost", "gnn+params", "gnn_201.yaml", pool("nb201")),
    ("gnn_201:pool-naswot", "gnn+params,naswot", "gnn_201.yaml", pool("nb201", "params,naswot")),
    ("gnn_201:pool-all", "gnn+all proxies", "gnn_201.yaml", pool("nb201", NB201_PROXIES)),
    ("renas_201:pool-none", "renas", "renas_201.yaml", pool("nb201", "")),
    ("renas_201:pool-cost", "renas+params", "renas_201.yaml", pool("nb201")),
    *((f"renas_201:pool-{name}", f"renas+params,{proxies}", "renas_201.yaml", pool("nb201", f"params,{proxies}"))
      for name, proxies in [("naswot", "naswot"), ("jacov", "jacov"), ("synflow", "synflow"), ("grad_norm", "grad_norm"), ("rbflex", "rbflex"),
                            ("tenas", "tenas_ntk,tenas_lr"), ("nb101-set", "synflow,rbflex,grad_norm")]),
    ("renas_201:pool-all", "renas+all proxies", "renas_201.yaml", pool("nb201", NB201_PROXIES)),
]
# (name for --only, label, config, overrides) for --labels: the gnn_101_4236 GIN, as shipped (10 members)
# and as a quicker 2-member ensemble, on 4,236 and on 2x / 4x as many labelled cells
TWO = {"model.init_args.ensemble_size": 2}
LABEL_SETTINGS = [
    *((f"gnn_101_4236:2-members-{n}", "gnn, 2 members", "gnn_101_4236.yaml", {**TWO, "data.num_train": n}) for n in (4236, 8472, 16944)),
    ("gnn_101_4236:8472", "gnn", "gnn_101_4236.yaml", {"data.num_train": 8472}),
]
DARTS_SETTINGS = [("gnn_darts", "gnn", "gnn_darts.yaml", {"data.root": str(SHARED_DATA)})]
DARTS_PROXY_TABLE = "scores/perf-darts-cifar10.csv"
DARTS_PROXIES = ("naswot", "params", "flops", "synflow", "snip", "grad_norm", "jacov")
ANCHORS = {
    ("nb101", 424): "ReNAS 0.657, PINAT 0.772; untuned GIN here 0.732; target >= 0.77",
    ("nb101", 4236): "ReNAS 0.816, PINAT 0.846; untuned GIN here 0.811; target >= 0.84",
    ("nb201", 156): "untuned GIN here 0.730; target >= 0.77",
    ("nb201", 1563): "untuned GIN here 0.880; target >= 0.90",
}


def fit(config: str, overrides: dict, seed: int) -> Any:
    """A LightningCLI for ``config`` + ``overrides`` on ``seed`` (split and training), fit, no logging."""
    from lightning_nas.cli.fit import make_cli

    args = ["--config", config]
    args += ["--seed_everything", str(seed), "--data.seed", str(seed), "--trainer.logger", "false",
             "--trainer.enable_checkpointing", "false", "--trainer.enable_progress_bar", "false",
             "--trainer.enable_model_summary", "false", "--trainer.callbacks", "null"]
    for key, value in overrides.items():
        args += [f"--{key}", str(value)]
    cli = make_cli(args, run=False, save_config_callback=None)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    return cli


def run(config: str, overrides: dict, seed: int) -> tuple[dict, float]:
    """Fit (a setting with a teacher fits the teacher first and pseudo-labels from its scores), test."""
    from lightning_nas.datamodules.predictions import ScoreWriter

    start = time.perf_counter()
    overrides = dict(overrides)
    with tempfile.TemporaryDirectory() as tmp:
        if TEACHER in overrides:
            teacher = fit(*overrides.pop(TEACHER), seed)
            overrides["data.pseudo_labels"] = scores = os.path.join(tmp, "teacher.csv")
            teacher.trainer.callbacks.append(ScoreWriter(scores))
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries only the JSON lines
                teacher.trainer.predict(teacher.model, datamodule=teacher.datamodule, return_predictions=False)
        cli = fit(config, overrides, seed)
    (metrics,) = cli.trainer.test(cli.model, datamodule=cli.datamodule, verbose=False)
    hp = cli.datamodule.hparams
    info = {"space": hp.space, "n_train": len(cli.datamodule.split.train_rows), "n_test": len(cli.datamodule.split.test_rows),
            "ktau": metrics["test/ktau"], "extra_features": hp.extra_features}
    if hp.space == "darts":
        info["proxy_ktau"] = proxy_ktau(cli.datamodule)
    return info, time.perf_counter() - start


def proxy_ktau(datamodule) -> dict[str, float]:
    """Kendall tau of each proxy in the DARTS score table with the target on the datamodule's test cells (all of them scored)."""
    from scipy.stats import kendalltau

    from lightning_nas.proxies import ScoreTable

    table = ScoreTable(DARTS_PROXY_TABLE)
    if not table.path.is_file():
        return {}
    rows = datamodule.split.test_rows
    scores = table.columns(list(DARTS_PROXIES), datamodule.benchmark.keys[rows])
    target = datamodule.split.targets[rows]
    # only proxies scored on every test cell (the gradient proxies cover 200 cells)
    return {name: round(float(kendalltau(values, target).statistic), 4) for name, values in zip(DARTS_PROXIES, scores.T) if np.isfinite(values).all()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--start-seed", type=int, default=0, help="first seed (to add seeds to an earlier run; the mean/std line covers this run's seeds only)")
    parser.add_argument("--only", help="comma-separated setting names to run (first field of SETTINGS / PROXY_SETTINGS / LABEL_SETTINGS), e.g. 'gnn_201,gnn_201:1563'")
    comparison = parser.add_mutually_exclusive_group()
    comparison.add_argument("--proxies", action="store_true", help="run the with/without proxy-feature comparison instead")
    comparison.add_argument("--labels", action="store_true", help="run the NB101 4,236 GIN on more labelled cells instead")
    comparison.add_argument("--darts", action="store_true", help="run the GIN on 10 %% of NAS-Bench-301's published DARTS cells instead")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    os.environ.setdefault("WANDB_MODE", "offline")
    for name, label, config, overrides in PROXY_SETTINGS if args.proxies else LABEL_SETTINGS if args.labels else DARTS_SETTINGS if args.darts else SETTINGS:
        if args.only and name not in args.only.split(","):
            continue
        values = []
        for seed in range(args.start_seed, args.start_seed + args.seeds):
            info, seconds = run(config, overrides, seed)
            # A run's trainer, model and datamodule reference each other, so its arrays (1.6 GB of
            # NB101 ReNAS tensors) go only when the cycle collector runs, and on its own it ran too
            # rarely: 14 NB101 runs in one process grew to 24 GB and were killed for memory.
            gc.collect()
            values.append(info["ktau"])
            print(json.dumps({"figure": "ktau", "space": info["space"], "model": label, "config": config,
                              "n_train": info["n_train"], "n_test": info["n_test"], "extra_features": info["extra_features"],
                              "seed": seed, "value": round(info["ktau"], 4), "seconds": round(seconds, 1),
                              **({"proxy_ktau_same_test_cells": info["proxy_ktau"]} if "proxy_ktau" in info else {})}), flush=True)
        print(json.dumps({"figure": "ktau", "space": info["space"], "model": label, "config": config,
                          "n_train": info["n_train"], "n_test": info["n_test"], "extra_features": info["extra_features"], "seeds": args.seeds,
                          "mean": round(float(np.mean(values)), 4), "std": round(float(np.std(values)), 4),
                          "anchors": ANCHORS.get((info["space"], info["n_train"]))}), flush=True)


if __name__ == "__main__":
    main()

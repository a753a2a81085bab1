"""Test-set scoring speed of the shipped NB101 ensembles at several ``data.eval_batch_size`` values.

    python perf/eval_speed.py [--archs 16384] [--batch-sizes 512,1024,4096] [--configs gnn_101,renas_101_4236,gnn_101_4236]

A fit tests on every arch it did not train on (423,200 NB101 cells at 424), so scoring speed sets
how long each ``fit`` and ``predict`` runs after training. Speed does not depend on the weights, so
each config's predictor is built untrained from its YAML. Prints one JSON line per config and batch
size: archs scored per second over the first ``--archs`` test cells.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

import torch
import yaml

from lightning_nas.datamodules import ArchDataModule

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
#: the settings a predictor shares with its datamodule (the CLI links them)
LINKED = ("space", "encoding", "extra_features")


def build(config: str) -> tuple[torch.nn.Module, dict]:
    """An untrained predictor and the datamodule settings of ``configs/<config>.yaml``."""
    spec = yaml.safe_load((CONFIGS / f"{config}.yaml").read_text())
    data = {k: v for k, v in spec["data"].items() if k not in ("augment", "eval_batch_size")}  # augment: training copies
    module, name = spec["model"]["class_path"].rsplit(".", 1)
    init = {k: v for k, v in spec["model"].get("init_args", {}).items() if k != "loss"}  # the loss does not score
    model = getattr(importlib.import_module(module), name)(**init, **{k: data.get(k) for k in LINKED})
    return model.eval(), data


def archs_per_second(model: torch.nn.Module, data: dict, batch_size: int, archs: int) -> float:
    dm = ArchDataModule(**data, eval_batch_size=batch_size)
    dm.setup("test")
    batches = iter(dm.test_dataloader())
    with torch.inference_mode():
        model(next(batches))  # warm-up, not timed: the first batch of a model runs slower
        done, start = 0, time.perf_counter()
        for batch in batches:
            model(batch)
            done += len(batch["index"])
            if done >= archs:
                break
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archs", type=int, default=16384, help="test cells scored per measurement")
    parser.add_argument("--batch-sizes", default="512,1024,4096")
    parser.add_argument("--configs", default="gnn_101,renas_101_4236,gnn_101_4236")
    args = parser.parse_args()
    for config in args.configs.split(","):
        model, data = build(config)
        for batch_size in map(int, args.batch_sizes.split(",")):
            rate = archs_per_second(model, data, batch_size, args.archs)
            print(json.dumps({"figure": "test_scoring_speed", "config": f"{config}.yaml", "eval_batch_size": batch_size,
                              "value": round(rate), "units": "archs/s", "archs": args.archs}), flush=True)


if __name__ == "__main__":
    main()

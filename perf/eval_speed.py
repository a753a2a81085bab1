"""Test-set scoring speed of the shipped NB101 ensembles at several ``data.eval_batch_size`` values.

    python perf/eval_speed.py [--archs 16384] [--batch-sizes 512,1024,4096] [--configs gnn_101,renas_101_4236,gnn_101_4236] [--device cuda]

A fit tests on every arch it did not train on (423,200 NB101 cells at 424), so scoring speed sets
how long each ``fit`` and ``predict`` runs after training. Speed does not depend on the weights, so
each config's predictor is built untrained, as ``fit`` builds it. Prints one JSON line per config and batch
size: archs scored per second over the first ``--archs`` test cells (on ``--device``, batches moved there as
Lightning moves them; encoding stays on the CPU, as in ``fit``).
"""

from __future__ import annotations

import argparse
import gc
import json
import time

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device

from lightning_nas.cli.fit import make_cli
from lightning_nas.datamodules import ArchDataModule
from lightning_nas.utils.errors import require_device


def build(config: str, batch_size: int) -> tuple[torch.nn.Module, ArchDataModule]:
    """The untrained predictor and the datamodule of ``configs/<config>.yaml``, as ``fit`` builds them."""
    argv = ["--config", f"{config}.yaml", "--data.eval_batch_size", str(batch_size), "--trainer.logger", "false"]
    cli = make_cli(argv, run=False, save_config_callback=None)
    return cli.model.eval(), cli.datamodule


def archs_per_second(model: torch.nn.Module, dm: ArchDataModule, archs: int, device: torch.device) -> float:
    dm.setup("test")
    model.to(device)
    batches = iter(dm.test_dataloader())
    with torch.inference_mode():
        model(move_data_to_device(next(batches), device))  # warm-up, not timed: the first batch of a model runs slower
        done, start = 0, time.perf_counter()
        for batch in batches:
            model(move_data_to_device(batch, device))
            done += len(batch["index"])
            if done >= archs:
                break
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # GPU work is asynchronous: wait for the last batch
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archs", type=int, default=16384, help="test cells scored per measurement")
    parser.add_argument("--batch-sizes", default="512,1024,4096")
    parser.add_argument("--configs", default="gnn_101,renas_101_4236,gnn_101_4236")
    parser.add_argument("--device", default="cpu", help="torch device the predictors score on, e.g. cuda")
    args = parser.parse_args()
    device = require_device("--device", args.device)
    for config in args.configs.split(","):
        for batch_size in map(int, args.batch_sizes.split(",")):
            rate = archs_per_second(*build(config, batch_size), args.archs, device)
            gc.collect()  # free the measurement's trainer/model/datamodule cycle now (see perf/ranking.py)
            print(json.dumps({"figure": "test_scoring_speed", "config": f"{config}.yaml", "eval_batch_size": batch_size,
                              "value": round(rate), "units": "archs/s", "archs": args.archs, "device": device.type}), flush=True)


if __name__ == "__main__":
    main()

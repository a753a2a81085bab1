"""The main command's wall time alone and beside one concurrent torch job, in the same run. JSON lines.

    python perf/shared_cpu.py [--epochs 40] [--code PATH] [--label after]

Runs ``python -m lightning_nas fit --config renas_101.yaml`` (no logger, no checkpoints, caches built by a
warm-up run first) twice: alone, then while another process trains a small CNN with torch's default
settings (every core, OpenMP's default waiting), as a user's other job on a shared machine would. Prints
``{"figure": "main_command_shared_cpu", "alone_s", "concurrent_s", "ratio", ...}``; the target is a ratio of
at most 2.5 (two jobs share two cores: 2 is a fair share). ``--code`` runs another checkout of
lightning_nas (e.g. a worktree of the commit before the fix) for the side-by-side baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: A user's other torch job: a small CNN trained forever with torch's defaults.
OTHER_JOB = """
import torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
                          torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.01)
x, y = torch.randn(64, 3, 32, 32), torch.randint(10, (64,))
while True:
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
"""


def main_command(code: Path, epochs: int | None, workdir: Path, env: dict[str, str]) -> float:
    args = [sys.executable, "-m", "lightning_nas", "fit", "--config", "renas_101.yaml", "--trainer.logger", "false",
            "--trainer.enable_checkpointing", "false", "--trainer.enable_progress_bar", "false"]
    if epochs is not None:
        args += ["--trainer.max_epochs", str(epochs)]
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=workdir, env={**env, "PYTHONPATH": str(code)}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[2:])} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=None, help="max_epochs (default: the config's 40)")
    parser.add_argument("--code", default=str(ROOT), help="the lightning_nas checkout to run (default: this one)")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--data", default=None, help="LIGHTNING_NAS_DATA for a checkout without embedded tables (default: unset)")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the main command (e.g. another OpenMP setting to compare)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "LIGHTNING_NAS_DATA")}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env["LIGHTNING_NAS_CACHE"] = str(workdir / "cache")
        if args.data:
            env["LIGHTNING_NAS_DATA"] = args.data
        other_env = dict(env)  # the other job keeps torch's defaults
        env.update(item.split("=", 1) for item in args.env)
        main_command(Path(args.code), 1, workdir, env)  # warm-up: builds the caches both runs then read
        alone = main_command(Path(args.code), args.epochs, workdir, env)
        other = subprocess.Popen([sys.executable, "-c", OTHER_JOB], env=other_env)
        try:
            time.sleep(5)  # the other job is up and busy
            concurrent = main_command(Path(args.code), args.epochs, workdir, env)
        finally:
            other.kill()
    print(json.dumps({"figure": "main_command_shared_cpu", "command": "fit --config renas_101.yaml", "epochs": args.epochs or 40,
                      "code": args.label, "env": args.env, "alone_s": round(alone, 1), "concurrent_s": round(concurrent, 1),
                      "ratio": round(concurrent / alone, 2), "target_ratio": 2.5, "cpus": os.cpu_count()}), flush=True)


if __name__ == "__main__":
    main()

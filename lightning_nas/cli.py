"""Command line: ``python -m lightning_nas <command>``.

* ``fit / validate / test / predict``: a ``LightningCLI`` over the predictors and
  :class:`~lightning_nas.datamodules.ArchDataModule`; ``--config renas_101.yaml`` also finds
  ``configs/renas_101.yaml``. ``fit`` tests the best checkpoint on every arch not trained on.
* ``prepare``: builds the benchmark cache (and the encoding caches) once, with progress and a
  summary, so later loads take about a second.

W&B runs offline unless ``WANDB_MODE`` says otherwise (``wandb sync`` uploads them later).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from lightning_nas.errors import LightningNASError

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def prepare(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lightning_nas prepare", description="Build the benchmark and encoding caches.")
    from lightning_nas.benchmarks import BENCHMARKS, create
    from lightning_nas.encodings import ENCODINGS, encode
    from lightning_nas.progress import progress_bar

    parser.add_argument("--space", required=True, choices=sorted(BENCHMARKS))
    parser.add_argument("--source", help="benchmark file or archive (default: found under --root)")
    parser.add_argument("--root", help="data folder (default: $LIGHTNING_NAS_DATA, else ./data)")
    parser.add_argument("--no-encodings", action="store_true", help="only cache the benchmark table")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    bench = create(args.space, root=args.root, source=args.source, progress=True)
    loaded = time.perf_counter() - start
    encodings = [] if args.no_encodings else [e() for e in ENCODINGS.values() if args.space in e.spaces]
    with progress_bar("encoding", total=len(encodings), enabled=bool(encodings)) as advance:
        for encoding in encodings:
            encode(encoding, bench.space, bench.structure)
            advance()
    print(bench.summary())
    print(f"table: {len(bench):,} archs, {len(bench.metrics)} columns, {loaded:.1f} s; "
          f"encodings {[e.name for e in encodings]}: {time.perf_counter() - start - loaded:.1f} s")
    return 0


COMMANDS = {"prepare": prepare}


def resolve_config_paths(argv: list[str]) -> list[str]:
    """``--config NAME`` that is not a file but is in ``configs/`` (or ``./configs``) -> that file."""
    out = list(argv)
    for i, arg in enumerate(out):
        value, prefix = None, ""
        if arg in ("--config", "-c") and i + 1 < len(out):
            value, idx = out[i + 1], i + 1
        elif arg.startswith("--config="):
            value, idx, prefix = arg.split("=", 1)[1], i, "--config="
        if value is None or Path(value).exists():
            continue
        for folder in (Path("configs"), CONFIG_DIR):
            if (folder / value).is_file():
                out[idx] = prefix + str(folder / value)
                break
    return out


def make_cli(argv: list[str], **kwargs):
    """The project's ``LightningCLI`` over every predictor and :class:`ArchDataModule`."""
    from lightning.pytorch.cli import LightningCLI

    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import RankingPredictor

    class NASCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:
            # the datamodule decides what the model sees; the model records it in its checkpoint
            for key in ("space", "encoding", "extra_features"):
                parser.link_arguments(f"data.{key}", f"model.init_args.{key}")

        def after_fit(self) -> None:
            if not self.trainer.fast_dev_run:
                self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path="best" if self.trainer.checkpoint_callback else None)

    return NASCLI(RankingPredictor, ArchDataModule, subclass_mode_model=True, args=resolve_config_paths(argv), **kwargs)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("WANDB_MODE", "offline")
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: python -m lightning_nas {{fit,validate,test,predict,{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 0 if argv else 2
    try:
        if argv[0] in COMMANDS:
            return COMMANDS[argv[0]](argv[1:])
        make_cli(argv, save_config_kwargs={"overwrite": True})
        return 0
    except LightningNASError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

"""Command line: ``python -m lightning_nas <command>``, one module per command.

* ``fit / validate / test / predict`` (:mod:`~lightning_nas.cli.fit`): a ``LightningCLI`` over the
  predictors and :class:`~lightning_nas.datamodules.ArchDataModule`; ``--config renas_101.yaml`` also finds
  ``configs/renas_101.yaml``. ``fit`` tests the best checkpoint on every arch not trained on.
* ``prepare``: builds the benchmark cache (and the encoding caches) ahead of a batch of jobs.
* ``score``: zero-cost proxy scores of many archs into a resumable table (on Lightning's
  ``predict``, so devices/nodes work as in ``fit``).
* ``search``: random search, regularized evolution or REINFORCE against a benchmark with a query
  budget, optionally ranked by a predictor checkpoint or zero-cost proxies; resumable (same
  ``--output``; a larger ``--budget`` extends a finished search).

W&B runs offline unless ``WANDB_MODE`` says otherwise (``wandb sync`` uploads them later).
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from lightning_nas.cli.configs import LIGHTNING_COMMANDS, check_config_command, resolve_config_paths, shipped_configs
from lightning_nas.cli.prepare import prepare
from lightning_nas.cli.score import score
from lightning_nas.cli.search import search
from lightning_nas.utils.errors import LightningNASError

COMMANDS = {"prepare": prepare, "search": search, "score": score}


USAGE = """usage: python -m lightning_nas <command> [options]   (<command> --help for its options; --version)

  fit        train a predictor (--config renas_101.yaml), then test it on every arch not trained on
  validate   evaluate a checkpoint (--ckpt_path) on the validation archs
  test       evaluate a checkpoint on every arch not trained on
  predict    score every arch of the space into predictions/<config>.csv
  prepare    build the benchmark and encoding caches (--space nb101|nb201|nats_sss)
  score      zero-cost proxy scores of many archs into a resumable table
  search     random search, regularized evolution or REINFORCE with a query budget

shipped configs (bare names, .yaml optional, are looked up in configs/): {configs}"""


# Deprecation warnings raised inside our dependencies about each other (torch_geometric's import uses
# torch.jit.script, Lightning's pytree helper torch's LeafSpec): printed on every run, nothing a user can act on.
THIRD_PARTY_DEPRECATIONS = (r"`torch\.jit\.script` is deprecated", r"`isinstance\(treespec, LeafSpec\)` is deprecated")


def _not_a_cloud_tip(record: logging.LogRecord) -> bool:
    """Log filter: Lightning's Trainer advertises its cloud services ("💡 Tip: ... litlogger / litmodels")
    on every run; this tool runs offline by default, so those lines are noise."""
    return not str(record.msg).startswith("💡 Tip:")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("WANDB_MODE", "offline")
    for message in THIRD_PARTY_DEPRECATIONS:
        warnings.filterwarnings("ignore", message=message, category=FutureWarning)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_not_a_cloud_tip)  # rank_zero_info's logger; added once per process
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE.format(configs=", ".join(shipped_configs())), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--version":
        from lightning_nas import __version__

        print(f"lightning_nas {__version__}")
        return 0
    try:
        check_config_command(argv[0], resolve_config_paths(argv[1:]))
        if argv[0] in COMMANDS:
            return COMMANDS[argv[0]](argv[1:])
        from lightning_nas.cli.fit import make_cli

        make_cli(argv, save_config_kwargs={"overwrite": True})
        return 0
    except Exception as exc:
        ours = _raised_on_purpose(exc)
        if ours is None:
            raise
        print(f"error: {ours}", file=sys.stderr)
        return 1


def _raised_on_purpose(exc: BaseException | None) -> Exception | None:
    """``exc`` if it says in words what the user set wrong, or the one it was raised from (jsonargparse
    re-raises a constructor's error, e.g. a model's bad setting, as its own ValueError): a
    :class:`LightningNASError`, or Lightning's ``MisconfigurationException`` about trainer settings
    (``--trainer.accelerator gpu`` on a machine without one)."""
    lightning = sys.modules.get("lightning.fabric.utilities.exceptions")  # imported by then if Lightning raised it
    ours = (LightningNASError, lightning.MisconfigurationException) if lightning else LightningNASError
    while exc is not None and not isinstance(exc, ours):
        exc = exc.__cause__
    return exc

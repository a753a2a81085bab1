"""Command line: ``python -m lightning_nas <command>``, one module per command.

* ``fit / validate / test / predict`` (:mod:`~lightning_nas.cli.fit`): a ``LightningCLI`` over the
  predictors and :class:`~lightning_nas.datamodules.ArchDataModule`; ``--config renas_101.yaml`` also finds
  ``configs/renas_101.yaml``. ``fit`` tests the best checkpoint on every arch not trained on.
* ``prepare``: builds the benchmark cache (and the encoding caches) ahead of a batch of jobs.
* ``score``: zero-cost proxy scores of many archs into a resumable table (on Lightning's
  ``predict``, so devices/nodes work as in ``fit``).
* ``train`` (:mod:`~lightning_nas.cli.train`): a searched DARTS genotype trained as DARTS evaluates it.
* ``search``: random search, regularized evolution or REINFORCE against a benchmark with a query
  budget, optionally ranked by a predictor checkpoint or zero-cost proxies; resumable (same
  ``--output``; a larger ``--budget`` extends a finished search).

W&B runs offline unless ``WANDB_MODE`` says otherwise (``wandb sync`` uploads them later).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import sys
import warnings

from lightning_nas.cli.configs import LIGHTNING_COMMANDS, check_config_command, resolve_config_paths, shipped_configs
from lightning_nas.cli.prepare import prepare
from lightning_nas.cli.score import score
from lightning_nas.cli.search import search
from lightning_nas.cli.train import train
from lightning_nas.utils.errors import LightningNASError

COMMANDS = {"prepare": prepare, "search": search, "score": score, "train": train}


USAGE = """usage: python -m lightning_nas <command> [options]   (<command> --help for its options; --version)

  fit        train a predictor (--config renas_101.yaml), then test it on every arch not trained on
  validate   evaluate a checkpoint (--ckpt_path) on the validation archs
  test       evaluate a checkpoint on every arch not trained on
  predict    score every arch of the space into predictions/<config>.csv
  prepare    optional: build the caches ahead of batch jobs (every command builds them on first use)
  score      zero-cost proxy scores of many archs into a resumable table
  search     random search, regularized evolution or REINFORCE with a query budget
  train      train a searched DARTS genotype from scratch on CIFAR-10 (--config train_darts.yaml)

shipped configs (bare names, .yaml optional, are looked up in configs/): {configs}

data in use (looked for in $LIGHTNING_NAS_DATA, ./data, then the tables embedded in the package; official files first):
{data}"""


# Deprecation warnings raised inside our dependencies about each other (torch_geometric's import uses
# torch.jit.script, Lightning's pytree helper torch's LeafSpec): printed on every run, nothing a user can act on.
THIRD_PARTY_DEPRECATIONS = (r"`torch\.jit\.script` is deprecated", r"`isinstance\(treespec, LeafSpec\)` is deprecated")
# Lightning's word on a checkpoint folder that holds files: the configs name their checkpoints by config and epoch, so the
# files of other fits in checkpoints/ are no risk, and every fit after the first one in a folder printed it.
CHECKPOINT_FOLDER_NOT_EMPTY = r"Checkpoint directory .* exists and is not empty"


def _not_a_cloud_tip(record: logging.LogRecord) -> bool:
    """Log filter: Lightning's Trainer advertises its cloud services ("💡 Tip: ... litlogger / litmodels")
    on every run; this tool runs offline by default, so those lines are noise."""
    return not str(record.msg).startswith("💡 Tip:")


def data_in_use() -> str:
    """One line per benchmark: the file it reads now (the first the lookup finds), or that it has none."""
    from lightning_nas.benchmarks import BENCHMARKS
    from lightning_nas.benchmarks.base import describe_source
    from lightning_nas.utils.errors import BenchmarkFileError

    lines = []
    for name, benchmark in sorted(BENCHMARKS.items()):
        try:
            sources = benchmark.find_sources()
        except BenchmarkFileError:
            lines.append(f"  {name:<10}none found: it needs data not shipped with the package (docs/data.md)")
        else:
            lines.append(f"  {name:<10}{describe_source(sources[0]) if sources else 'built in code'}")
    return "\n".join(lines)


def share_the_cpu_politely() -> None:
    """Thread settings for a machine shared with other jobs, set before torch loads unless the user set
    them: OpenMP threads that wait for work sleep instead of spinning. Two torch processes that spin on
    each other's cores slow each other down many times over (perf/shared_cpu.py measures it)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    share_the_cpu_politely()
    os.environ.setdefault("WANDB_MODE", "offline")
    for message in THIRD_PARTY_DEPRECATIONS:
        warnings.filterwarnings("ignore", message=message, category=FutureWarning)
    warnings.filterwarnings("ignore", message=CHECKPOINT_FOLDER_NOT_EMPTY)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_not_a_cloud_tip)  # rank_zero_info's logger; added once per process
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE.format(configs=", ".join(shipped_configs()), data=data_in_use()), file=sys.stdout if argv else sys.stderr)
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
        finish_wandb_run()
        return 0
    except argparse.ArgumentError as exc:  # a setting of the wrong type, an unknown option: one line, not the whole usage
        print(f"error: {one_line(str(exc))} (`python -m lightning_nas {argv[0]} --help` lists the options and their types)", file=sys.stderr)
        return 1
    except Exception as exc:
        ours = _raised_on_purpose(exc)
        full = _disk_full(exc) if ours is None else None
        if ours is None and full is None:
            raise
        print(f"error: {ours if ours is not None else full}", file=sys.stderr)
        return 1


def finish_wandb_run() -> None:
    """Close the W&B run the command opened, while the output streams are still the process's own: left to
    W&B's exit hook, its last lines ("You can sync this run ...") reached a redirected log with terminal codes."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish()


def one_line(message: str) -> str:
    """jsonargparse's several lines on a setting it cannot take -> one: the setting, the value and the types it takes."""
    keys = re.findall(r'[Kk]ey "([^"]+)"', message)  # the setting, and within a class the argument that failed
    given = re.search(r"(?:Got|Given) value: (.*)", message)
    expected = [name.replace("NoneType", "null") for name in re.findall(r"Expected a <class '([\w.]+)'>", message)]
    if keys and given:
        name = keys[0] + "".join(f".init_args.{key}" for key in keys[1:])
        takes = f"; it takes {' or '.join(dict.fromkeys(expected))}" if expected else ""
        return f"--{name} {given.group(1).strip()!r} is not a value it takes{takes}"
    return " ".join(line.strip() for line in message.strip().splitlines()[:2])


def _disk_full(exc: BaseException | None) -> str | None:
    """One line for a full disk met inside a dependency (W&B's files, Lightning's checkpoints): what failed and
    what had been saved, complete, before it; None if ``exc`` is not that."""
    from lightning_nas.cli.fit import checkpoints_saved
    from lightning_nas.utils.atomic import saved_before

    while exc is not None:
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left on device" in str(exc):
            where = f" writing {exc.filename}" if getattr(exc, "filename", None) else ""
            saved = checkpoints_saved()
            return (f"the disk is full{where} ({type(exc).__name__}: {str(exc).splitlines()[0]}); {saved_before()}"
                    + (f"; checkpoints saved: {', '.join(saved)}" if saved else "") + ". Free some space and run the command again")
        exc = exc.__cause__ or exc.__context__
    return None


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

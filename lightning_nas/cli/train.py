"""``train``: a searched genotype trained from scratch as its space's paper evaluates it (DARTS on
CIFAR-10: ``--config train_darts.yaml --model.genotype runs/search/seed0/genotype.json --data.root <CIFAR-10 folder>``)."""

from __future__ import annotations

from lightning_nas.cli.configs import resolve_config_paths
from lightning_nas.utils.errors import InvalidArgument


def checkpoint_option(argv: list[str]) -> tuple[list[str], str | None]:
    """``--ckpt_path PATH`` / ``--ckpt_path=PATH`` taken out of ``argv`` (a LightningCLI without subcommands has no
    resume option of its own)."""
    for at, arg in enumerate(argv):
        if arg.startswith("--ckpt_path="):
            return argv[:at] + argv[at + 1:], arg.split("=", 1)[1]
        if arg == "--ckpt_path":
            if at + 1 == len(argv):
                raise InvalidArgument("--ckpt_path needs a checkpoint, e.g. checkpoints/train_darts-last.ckpt")
            return argv[:at] + argv[at + 2:], argv[at + 1]
    return argv, None


def train(argv: list[str]) -> int:
    """A ``LightningCLI`` over :class:`~lightning_nas.training.GenotypeTraining` and
    :class:`~lightning_nas.training.CIFAR10DataModule` that fits once; ``--ckpt_path`` resumes."""
    from lightning.pytorch.cli import LightningCLI

    from lightning_nas.training import CIFAR10DataModule, GenotypeTraining

    argv, ckpt_path = checkpoint_option(resolve_config_paths(argv))
    cli = LightningCLI(GenotypeTraining, CIFAR10DataModule, args=argv, run=False, save_config_kwargs={"overwrite": True},
                       parser_kwargs={"prog": "python -m lightning_nas train", "exit_on_error": False})
    print(f"training {cli.model.hparams.genotype}: {cli.model.num_parameters / 1e6:.3f} M parameters (auxiliary head left out, as DARTS counts)")
    cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt_path)
    return 0

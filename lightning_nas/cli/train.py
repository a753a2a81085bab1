"""``train``: a searched genotype trained from scratch as its space's paper evaluates it (DARTS on
CIFAR-10: ``--config train_darts.yaml --model.genotype runs/search/seed0/genotype.json --data.root <CIFAR-10 folder>``)."""

from __future__ import annotations

from lightning_nas.cli.configs import resolve_config_paths


def train(argv: list[str]) -> int:
    """A ``LightningCLI`` over :class:`~lightning_nas.training.GenotypeTraining` and
    :class:`~lightning_nas.training.CIFAR10DataModule` that fits once; ``--ckpt_path`` resumes."""
    from lightning.pytorch.cli import LightningCLI

    from lightning_nas.training import CIFAR10DataModule, GenotypeTraining

    argv = resolve_config_paths(argv)
    ckpt_path = None
    if "--ckpt_path" in argv:  # LightningCLI without subcommands has no resume option of its own
        at = argv.index("--ckpt_path")
        ckpt_path, argv = argv[at + 1], argv[:at] + argv[at + 2:]
    cli = LightningCLI(GenotypeTraining, CIFAR10DataModule, args=argv, run=False, save_config_kwargs={"overwrite": True},
                       parser_kwargs={"prog": "python -m lightning_nas train", "exit_on_error": False})
    print(f"training {cli.model.hparams.genotype}: {cli.model.num_parameters / 1e6:.3f} M parameters (auxiliary head left out, as DARTS counts)")
    cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=ckpt_path)
    return 0

"""``fit / validate / test / predict``: the project's ``LightningCLI`` over every predictor and the
``ArchDataModule``, with the checks that make a checkpoint usable only as it was meant."""

from __future__ import annotations

import re
import sys
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_nas.cli.configs import LIGHTNING_COMMANDS, config_values, resolve_config_paths
from lightning_nas.utils.errors import CheckpointError, InvalidArgument

if TYPE_CHECKING:  # Lightning is imported only by the commands that need it: --help stays instant
    from lightning.pytorch import Trainer


#: ArchDataModule settings a checkpoint's predictor was fit with that every later command must share:
#: what the predictor reads (the split's settings, which archs it trained on, matter to all but predict)
READ_SETTINGS = ("space", "encoding", "extra_features")


def check_checkpoint(command: str, path: str | None, model_class_path: str, data: dict[str, Any], model_flags: dict[str, Any] | None = None) -> None:
    """Refuse a ``--ckpt_path`` the command cannot use as meant: none for an evaluation (it would
    score with an untrained model), missing, unreadable, another predictor class than the config's,
    fit with other data settings (the predictor would read inputs it was not built for, or a test
    would count archs it trained on), or with other values of the ``--model`` settings given on the
    command line (``model_flags``): Lightning rebuilds the predictor with the checkpoint's own, so
    such a flag would be ignored without a word. Settings only a config file gives may differ: the
    checkpoint's are used, so a predictor fit with ``--model.init_args.hidden 128`` is evaluated
    with the same config and no flag."""
    from lightning_nas.datamodules.pseudo_labels import PSEUDO_LABEL_SETTINGS
    from lightning_nas.datamodules.split import SPLIT_SETTINGS
    from lightning_nas.models import RankingPredictor, predictor_from_checkpoint, read_checkpoint

    if path is None:
        if command != "fit":
            raise InvalidArgument(f"{command} needs --ckpt_path, a checkpoint written by fit: without one it would score with an untrained model")
        return
    if "://" in str(path) or (command == "fit" and path in ("last", "hpc")):  # remote, or a resume Lightning resolves
        return
    if not Path(path).is_file():
        found = sorted(str(p) for p in Path("checkpoints").glob("*.ckpt"))
        raise InvalidArgument(f"checkpoint {str(path)!r} not found; checkpoints/ holds {found or 'none'}")
    checkpoint = read_checkpoint(path)
    saved_class, config_class = checkpoint.get(RankingPredictor.CLASS_KEY), model_class_path.rsplit(".", 1)[-1]
    if saved_class != config_class:
        raise CheckpointError(f"{path} holds a predictor of class {saved_class}, the config builds a {config_class}; give the config it was fit with")
    saved = checkpoint.get("datamodule_hyper_parameters") or {}
    keys = READ_SETTINGS if command == "predict" else READ_SETTINGS + SPLIT_SETTINGS + PSEUDO_LABEL_SETTINGS
    differ = [f"data.{k}={saved[k]!r} (here {data.get(k)!r})" for k in keys if k in saved and saved[k] != data.get(k)]
    if differ:
        raise CheckpointError(f"{path} was fit with {', '.join(differ)}; give the settings it was fit with (the same --config files and --data flags)")
    hparams = checkpoint.get("hyper_parameters") or {}
    ignored = [f"model.{k}={hparams[k]!r} (here {v!r})" for k, v in (model_flags or {}).items() if k in hparams and hparams[k] != v]
    if ignored:
        raise CheckpointError(f"{path} was fit with {', '.join(ignored)}, and its predictor is rebuilt with the settings it was fit with: "
                              "drop those --model flags (or fit anew with them)")
    predictor_from_checkpoint(checkpoint, path)  # one Lightning would fail to rebuild fails here, in a line naming both releases


def model_flag_names(argv: list[str]) -> list[str]:
    """The model settings set on the command line: ``--model.init_args.hidden 16`` (or ``--model.hidden=16``,
    or a list's ``--model.init_args.member_kinds+ gat``) -> "hidden"."""
    names = (re.fullmatch(r"--model\.(?:init_args\.)?(\w+)\+?(?:=.*)?", arg) for arg in argv)
    return [match.group(1) for match in names if match and match.group(1) not in ("class_path", "init_args", "dict_kwargs", "help")]


def make_cli(argv: list[str], **kwargs):
    """The project's ``LightningCLI`` over every predictor and :class:`ArchDataModule`."""
    from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar, RichProgressBar
    from lightning.pytorch.cli import LightningCLI, SaveConfigCallback

    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import RankingPredictor
    from lightning_nas.utils.atomic import make_folder
    from lightning_nas.utils.fit_progress import LineProgress
    from lightning_nas.utils.progress import on_terminal
    from lightning_nas.utils.runs import CONFIG_ATTRIBUTE, run_folder

    argv = resolve_config_paths(argv)
    config_files = [Path(value) for _, value, _ in config_values(argv) if Path(value).is_file()]

    class RunConfig(SaveConfigCallback):
        """Saves the run's whole config in the run's own folder (:func:`~lightning_nas.utils.runs.run_folder`),
        beside its plots: each run keeps its own, where one ``logs/config.yaml`` was overwritten by the next run."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **{**kwargs, "save_to_log_dir": False})

        def save_config(self, trainer: Trainer, pl_module: Any, stage: str) -> None:
            path = run_folder(trainer) / self.config_filename
            make_folder(path.parent, path)
            self.parser.save(self.config, str(path), skip_none=False, overwrite=True, multifile=self.multifile)

    class NASCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:
            # the datamodule decides what the model sees; the model records it in its checkpoint
            for key in ("space", "encoding", "extra_features"):
                parser.link_arguments(f"data.{key}", f"model.init_args.{key}")
            parser.link_arguments("data", "model.init_args.input_shape", compute_fn=lambda data: data.input_shape, apply_on="instantiate")

        def instantiate_classes(self) -> None:
            super().instantiate_classes()
            for logger in self.trainer.loggers:
                drop_unset_wandb_anonymous(logger)

        def instantiate_trainer(self, **kwargs) -> Trainer:
            if self.subcommand:  # read the data and draw the split first: a bad data setting is the first line printed
                self.datamodule.setup(self.subcommand)
            if self.subcommand == "predict":
                kwargs["logger"] = False  # a predictions file needs no dashboard run
            # the shipped configs list a RichProgressBar and a ModelCheckpoint, and Lightning refuses either beside
            # the flag that turns it off: `--trainer.enable_progress_bar false` (a batch job) drops it instead
            trainer = self._get(self.config_init, "trainer", default={})
            callbacks = trainer.get("callbacks") or []
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            switched_off = {"enable_progress_bar": ProgressBar, "enable_checkpointing": ModelCheckpoint}
            off = tuple(kind for flag, kind in switched_off.items() if trainer.get(flag) is False)
            kept = [c for c in callbacks if not isinstance(c, off)]
            if not on_terminal():  # a batch job's log: progress lines, not bars
                kept = [LineProgress() if isinstance(c, RichProgressBar) else c for c in kept]
            kwargs["callbacks"] = kept
            try:
                built = super().instantiate_trainer(**kwargs)
            except (ValueError, TypeError) as exc:  # Lightning's word on a trainer setting (an unknown accelerator, ...)
                raise InvalidArgument(f"trainer settings: {' '.join(str(exc).split())}") from exc
            _TRAINERS.append(weakref.ref(built))
            if config_files:  # its files go to runs/<config>/<run>
                setattr(built, CONFIG_ATTRIBUTE, config_files[-1].stem)
            return built

        def _prepare_run(self) -> None:
            """Read the benchmark and draw the split now: Lightning starts the loggers before the
            datamodule's setup, so a bad data setting would otherwise leave a W&B run per attempt.
            Then make the output folders, so that a bad setting leaves none behind, and one that cannot
            be made (a file in the way) is an error line before training, not a traceback after it
            (W&B also looks for the git repo from its folder before creating it)."""
            self.datamodule.setup(self.subcommand)
            for folder in output_folders(self.trainer, self.subcommand):
                make_folder(folder)

        before_validate = before_test = before_predict = _prepare_run

        def before_fit(self) -> None:
            self._prepare_run()
            validate_on_the_last_epoch(self.trainer)

        def after_fit(self) -> None:
            checkpoint = self.trainer.checkpoint_callback
            best = bool(checkpoint and getattr(checkpoint, "best_model_path", None))
            # fast_dev_run saves no checkpoint by design; its one test batch checks the test loop
            if checkpoint and not best and not self.trainer.fast_dev_run:  # e.g. --trainer.limit_val_batches 0
                print("warning: no best checkpoint was saved (no validation ran); testing the weights fit ended with", file=sys.stderr)
            # the path, not "best": beside the configs' last-epoch checkpoint, Lightning would warn that it picks the first
            self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=checkpoint.best_model_path if best else None)

        def parse_arguments(self, parser, args) -> None:
            super().parse_arguments(parser, args)
            # before Lightning reads the checkpoint's hyperparameters into the config (a bad file fails there)
            command = self.config.get("subcommand")
            if command:
                config = self.config[command]
                init_args = config.model.get("init_args") or {}
                flags = {key: init_args[key] for key in model_flag_names(args) if key in init_args}
                check_checkpoint(command, config.get("ckpt_path"), config.model.class_path, config.data.as_dict(), flags)

    with warnings.catch_warnings():  # passing args is deliberate: they are argv with config names resolved
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended to run from within Python")
        # parse errors raise instead of printing the whole usage first: main() prints them as one line
        quiet = {"exit_on_error": False}
        parser_kwargs = {**quiet, **{command: dict(quiet) for command in LIGHTNING_COMMANDS}}
        return NASCLI(RankingPredictor, ArchDataModule, subclass_mode_model=True, args=argv, parser_kwargs=parser_kwargs,
                      **{"save_config_callback": RunConfig, **kwargs})


#: The trainers this process built (weakly): what a failure can name of the checkpoints they saved.
_TRAINERS: list[weakref.ref] = []


def checkpoints_saved() -> list[str]:
    """The checkpoint files the trainers of this process saved, best and last."""
    trainers = [ref() for ref in _TRAINERS]
    paths = [path for t in trainers if t is not None for cb in t.checkpoint_callbacks for path in (getattr(cb, "best_model_path", ""), getattr(cb, "last_model_path", "")) if path]
    return list(dict.fromkeys(paths))


def output_folders(trainer: Trainer, command: str | None) -> list[Path]:
    """The folders ``command`` writes into: the loggers', and fit's checkpoints / predict's score file."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from lightning_nas.datamodules.predictions import ScoreWriter

    folders = [Path(logger.save_dir) for logger in trainer.loggers if getattr(logger, "save_dir", None)]
    for callback in trainer.callbacks:
        if command == "fit" and isinstance(callback, ModelCheckpoint) and callback.dirpath:
            folders.append(Path(callback.dirpath))
        elif command == "predict" and isinstance(callback, ScoreWriter):
            folders.append(callback.output.parent)
    return folders


def drop_unset_wandb_anonymous(logger: Any) -> None:
    """Lightning's ``WandbLogger`` passes ``anonymous=None`` to ``wandb.init`` when the setting is not
    given, and wandb (0.31 here) then warns on every run that the setting has no effect: nothing a
    user set or can act on. Leave the setting out unless it was given."""
    settings = getattr(logger, "_wandb_init", None)  # the logger's wandb.init arguments
    if isinstance(settings, dict) and "anonymous" in settings and settings["anonymous"] is None:
        del settings["anonymous"]


def validate_on_the_last_epoch(trainer: Trainer) -> None:
    """Lightning validates after every ``check_val_every_n_epoch``-th epoch only, so a run whose
    ``max_epochs`` is not a multiple (a quick ``--trainer.max_epochs 3`` on a config validating every
    25) would end unvalidated: no best checkpoint to test or search with. Shrink the interval to the
    largest divisor of ``max_epochs`` not above it, so the last epoch is always validated."""
    from lightning.pytorch.utilities import rank_zero_info

    every, last = trainer.check_val_every_n_epoch, trainer.max_epochs
    if not every or last is None or last < 1 or last % every == 0:
        return
    trainer.check_val_every_n_epoch = max(d for d in range(1, every + 1) if last % d == 0)
    rank_zero_info(f"check_val_every_n_epoch {every} -> {trainer.check_val_every_n_epoch}, so that the last of max_epochs={last} is validated")

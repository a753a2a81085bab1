"""Command line: ``python -m lightning_nas <command>``.

* ``fit / validate / test / predict``: a ``LightningCLI`` over the predictors and
  :class:`~lightning_nas.datamodules.ArchDataModule`; ``--config renas_101.yaml`` also finds
  ``configs/renas_101.yaml``. ``fit`` tests the best checkpoint on every arch not trained on.
* ``prepare``: builds the benchmark cache (and the encoding caches) once, with progress and a
  summary, so later loads take about a second.
* ``score``: zero-cost proxy scores of many archs into a resumable table (on Lightning's
  ``predict``, so devices/nodes work as in ``fit``).
* ``search``: random search, regularized evolution or REINFORCE against a benchmark with a query
  budget, optionally ranked by a predictor checkpoint or zero-cost proxies; resumable (same
  ``--output``; a larger ``--budget`` extends a finished search).

W&B runs offline unless ``WANDB_MODE`` says otherwise (``wandb sync`` uploads them later).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning_nas.errors import BenchmarkFileError, CheckpointError, InvalidArgument, LightningNASError, require_device

if TYPE_CHECKING:  # Lightning is imported only by the commands that need it: --help stays instant
    from lightning.pytorch import Trainer

CONFIG_DIR = Path(__file__).resolve().parent / "configs"  # package data: a wheel install has them; the repo's configs/ links here


def prepare(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lightning_nas prepare", description="Build the benchmark and encoding caches.")
    from lightning_nas.benchmarks import BENCHMARKS, create
    from lightning_nas.encodings import ENCODINGS, cached_arrays
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
            cached_arrays(encoding, bench.space, bench.structure)  # not the model-ready form: fit builds that
            advance()
    print(bench.summary())
    print(f"table: {len(bench):,} archs, {len(bench.metrics)} columns, {loaded:.1f} s; "
          f"encodings {[e.name for e in encodings]}: {time.perf_counter() - start - loaded:.1f} s")
    return 0


def search(argv: list[str]) -> int:
    """``search --config configs/search_rea_201.yaml [--predictor CKPT | --proxies naswot,synflow]``:
    a search against a benchmark, optionally guided by a trained predictor (its training archs
    count as queries) or by zero-cost proxies (several: TE-NAS's rank combination)."""
    from jsonargparse import ActionConfigFile, ArgumentParser

    from lightning_nas.benchmarks import BENCHMARKS, create
    from lightning_nas.search import PredictorScorer, ProxyScorer, SearchStrategy, load_predictor
    from lightning_nas.search.callback import datamodule_settings, search_with_scorer, training_rows_of

    parser = ArgumentParser(prog="python -m lightning_nas search", description=search.__doc__, default_config_files=[])
    parser.add_argument("--config", action=ActionConfigFile, help="YAML with any of the options below")
    parser.add_subclass_arguments(SearchStrategy, "strategy", required=True, help="RandomSearch, RegularizedEvolution or Reinforce (or the dot path of a SearchStrategy subclass)")
    parser.add_argument("--space", choices=sorted(BENCHMARKS), required=True)
    parser.add_argument("--dataset", type=str | None, default=None, help="benchmark dataset (default: the benchmark's first)")
    parser.add_argument("--budget", type=int, required=True, help="distinct archs whose accuracy may be read")
    parser.add_argument("--predictor", type=str | None, default=None, help="checkpoint written by fit; its scores rank candidates")
    parser.add_argument("--proxies", type=str | None, default=None, help="comma-separated zero-cost proxies that rank candidates instead, e.g. naswot,synflow")
    parser.add_argument("--proxy_table", type=str | None, default=None, help="score table (from 'score') with precomputed proxy scores")
    parser.add_argument("--proxy_dataset", type=str | None, default=None, help="images and classifier size the proxies use (default: cifar10)")
    parser.add_argument("--proxy_images", type=str | None, default=None,
                        help="image source the proxies score on, as `score --images` (default: the shared CIFAR-10 sample); with --predictor, the one its proxy table was scored on")
    parser.add_argument("--proxy_seed", type=int, default=0, help="the proxies' image draw and initialisation seed, as `score --seed`")
    parser.add_argument("--full_network", type=bool, default=False, help="tenas_ntk on the benchmark network, as `score --full_network true` (a --proxy_table made so needs it)")
    parser.add_argument("--seeds", type=list[int], default=[0])
    parser.add_argument("--output", type=str, default="search", help="folder for state, trajectories, best.json, plot")
    parser.add_argument("--save_every", type=int, default=10, help="queries between state saves")
    parser.add_argument("--root", type=str | None, default=None, help="data folder (default: $LIGHTNING_NAS_DATA, else ./data)")
    parser.add_argument("--device", type=str, default="cpu", help="torch device the predictor or the proxies score on, e.g. cuda")
    cfg = parser.instantiate(parser.parse_args(resolve_config_paths(argv)))

    if cfg.predictor and cfg.proxies:
        raise InvalidArgument("give --predictor or --proxies, not both")
    if not cfg.proxies and (cfg.proxy_table or cfg.proxy_dataset or cfg.full_network or cfg.proxy_seed):  # they would go unused
        raise InvalidArgument("--proxy_table, --proxy_dataset, --proxy_seed and --full_network set up --proxies; give the proxies that rank candidates, e.g. --proxies synflow")
    if not (cfg.proxies or cfg.predictor) and cfg.proxy_images:
        raise InvalidArgument("--proxy_images sets up --proxies (or a --predictor fed proxy scores); give the proxies that rank candidates, e.g. --proxies synflow")
    device = require_device("--device", cfg.device)
    bench = create(cfg.space, root=cfg.root, progress=True)
    scorer = rows = None
    if cfg.predictor:
        settings = datamodule_settings(cfg.predictor)  # read once: the fit's split and proxy table
        proxy_table = (settings or {}).get("proxy_table")  # the fit's proxy scores, if it read any
        try:
            scorer = PredictorScorer(load_predictor(cfg.predictor).to(device), bench, cfg.dataset, proxy_table, cfg.root, device, cfg.proxy_images)
        except BenchmarkFileError as exc:
            if proxy_table is None:
                raise
            raise BenchmarkFileError(f"{exc} ({cfg.predictor} was fit with data.proxy_table {proxy_table}: run the search from the folder the fit ran in)") from None
        if settings is None:
            print(f"warning: {cfg.predictor} does not record its training archs; they are not counted as queries", file=sys.stderr)
        else:
            rows = training_rows_of(settings)
    elif cfg.proxies:
        scorer = ProxyScorer(bench.space.name, proxy_names(cfg.proxies), cfg.proxy_dataset or "cifar10", cfg.proxy_table, cfg.proxy_images, cfg.proxy_seed,
                             cfg.root, device, cfg.full_network)
    search_with_scorer(cfg.strategy, bench, scorer, cfg.budget, cfg.dataset, cfg.seeds, rows, cfg.output, cfg.save_every)
    print(f"results in {cfg.output}/ (best.json, trajectory.csv per seed; trajectory.png)")
    return 0


def score(argv: list[str]) -> int:
    """``score --space nb201 --proxies naswot,synflow --dataset cifar10 --archs 1000``: zero-cost
    proxy scores into a resumable table; ``--trainer.devices/--trainer.num_nodes`` spread the
    archs over devices with Lightning."""
    import lightning as L
    from jsonargparse import ActionConfigFile, ArgumentParser

    from lightning_nas.benchmarks import BENCHMARKS, create
    from lightning_nas.proxies import PROXIES
    from lightning_nas.proxies.scoring import ProxyScoringModule, score_archs, select_rows
    from lightning_nas.proxies.table import ScoreTable

    parser = ArgumentParser(prog="python -m lightning_nas score", description=score.__doc__, default_config_files=[])
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_argument("--space", choices=sorted(BENCHMARKS), required=True)
    parser.add_argument("--proxies", type=str, required=True, help=f"comma-separated, from {','.join(sorted(PROXIES))}")
    parser.add_argument("--dataset", type=str, default="cifar10", help="classifier size and image normalisation")
    parser.add_argument("--archs", type=str, default="all", help="'all' or a number of random archs (seeded)")
    parser.add_argument("--images", type=str | None, default=None, help="CIFAR/ImageNet16 folder or .npz (default: the shared CIFAR-10 sample)")
    parser.add_argument("--output", type=str | None, default=None, help="score table CSV (default: scores/<space>-<dataset>.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full_network", type=bool, default=False, help="tenas_ntk on the benchmark network, not TE-NAS's small one (tenas_lr has only its own)")
    parser.add_argument("--archs_per_batch", type=int, default=8, help="archs per predict batch (= per saved part)")
    parser.add_argument("--root", type=str | None, default=None, help="data folder (default: $LIGHTNING_NAS_DATA, else ./data)")
    parser.add_class_arguments(L.Trainer, "trainer", default={"logger": False, "enable_checkpointing": False, "enable_model_summary": False, "inference_mode": False})
    cfg = parser.parse_args(resolve_config_paths(argv))

    table = ScoreTable(cfg.output or f"scores/{cfg.space}-{cfg.dataset}.csv")
    module = ProxyScoringModule(cfg.space, proxy_names(cfg.proxies), cfg.dataset, cfg.images, cfg.seed, cfg.root, cfg.full_network)
    rows = select_rows(create(cfg.space, root=cfg.root, progress=True), cfg.archs, cfg.seed)
    trainer = L.Trainer(**cfg.trainer.as_dict())
    scored = score_archs(module, trainer, table, rows, cfg.archs_per_batch)
    if trainer.is_global_zero:  # every rank of a multi-device run gets here
        print(f"{scored} of {len(rows)} archs scored in this run ({len(rows) - scored} were already in the table); table: {table.path}")
    return 0


def proxy_names(text: str) -> list[str]:
    """``--proxies naswot, synflow,`` -> ["naswot", "synflow"]."""
    return [name.strip() for name in text.split(",") if name.strip()]


COMMANDS = {"prepare": prepare, "search": search, "score": score}
LIGHTNING_COMMANDS = ("fit", "validate", "test", "predict")
#: Top-level keys that only one command's configs set (the four LightningCLI commands share fit's).
CONFIG_KEYS = {"fit": {"trainer", "model", "data"}, "search": {"strategy", "budget"}}


def _config_values(argv: list[str]) -> Iterator[tuple[int, str, str]]:
    """(position in argv, value, prefix) of every ``--config VALUE`` / ``-c VALUE`` / ``--config=VALUE``."""
    for i, arg in enumerate(argv):
        if arg in ("--config", "-c") and i + 1 < len(argv):
            yield i + 1, argv[i + 1], ""
        elif arg.startswith("--config="):
            yield i, arg.split("=", 1)[1], "--config="


def resolve_config_paths(argv: list[str]) -> list[str]:
    """``--config NAME`` that is not a file but is in ``./configs`` or among the shipped configs -> that
    file; a name without its ``.yaml`` (``renas_101``) too, which the parser would take for a missing path."""
    out = list(argv)
    for idx, value, prefix in _config_values(argv):
        if Path(value).exists():
            continue
        a_name = re.fullmatch(r"[\w.\-/]+", value) is not None  # not an inline YAML string such as "{trainer: ...}"
        names = [value, f"{value}.yaml"] if a_name and not Path(value).suffix else [value]
        found = next((folder / name for name in names for folder in (Path("configs"), CONFIG_DIR) if (folder / name).is_file()), None)
        if found is not None:
            out[idx] = prefix + str(found)
        elif a_name:
            raise InvalidArgument(f"config {value!r} not found: not a file, and not in configs/ (shipped: {', '.join(shipped_configs())})")
    return out


def check_config_command(command: str, argv: list[str]) -> None:
    """A config file written for another command (``search --config gnn_201.yaml``) -> an error naming
    the command that runs it, instead of the parser's "does not accept option" after its whole usage."""
    import yaml

    own = "fit" if command in LIGHTNING_COMMANDS else command
    if own not in CONFIG_KEYS:
        return
    files, sets_model = [], any(arg.startswith("--model") for arg in argv)
    header = ""
    for _, value, _ in _config_values(argv):
        text = Path(value).read_text() if Path(value).is_file() else None  # else inline YAML, which the parser reads
        try:
            config = yaml.safe_load(text) if text is not None else None
        except yaml.YAMLError:
            continue  # the parser reports it with its line
        keys = set(config) if isinstance(config, dict) else set()
        if text is not None:
            files.append(Path(value).name)
            sets_model |= "model" in keys
            header = " ".join(line.lstrip("# ") for line in itertools.takewhile(lambda line: line.startswith("#"), text.splitlines()))
        if keys & CONFIG_KEYS[own]:
            continue
        for other, marks in CONFIG_KEYS.items():
            if keys & marks:
                raise InvalidArgument(
                    f"{Path(value).name} is a config for `{other}` (it sets {', '.join(sorted(keys & marks))}), not for `{command}`: "
                    f"run it with `python -m lightning_nas {other} --config {Path(value).name}`"
                )
    if own == "fit" and files and not sets_model:  # e.g. self_train_101.yaml alone; the parser would say "required: fit.model"
        after = re.search(r"after (\S+\.yaml)", header)  # the shipped ones say "Give it after gnn_101.yaml"
        first = after.group(1) if after else "<a config with a model>"
        raise InvalidArgument(
            f"no model: no config given sets one ({', '.join(files)}). {files[-1]} completes a config given before it: "
            f"`python -m lightning_nas {command} --config {first} --config {files[-1]}`"
        )


def shipped_configs() -> list[str]:
    """The config files shipped in the package (``lightning_nas/configs``, which the repo's
    ``configs/`` links to, so that a wheel install finds them too), named in help and in config errors."""
    return sorted(p.name for p in CONFIG_DIR.glob("*.yaml"))


#: ArchDataModule settings a checkpoint's predictor was fit with that a later command must share:
#: what the predictor reads, and (except for predict, which scores every arch) which archs it trained on
READ_SETTINGS = ("space", "encoding", "extra_features")
SPLIT_SETTINGS = ("metric", "dataset", "epochs", "num_train", "train_ratio", "num_val", "seed",
                  "proxy_table", "pseudo_labels", "num_pseudo", "train_metrics")  # fmt: skip


def check_checkpoint(command: str, path: str | None, model_class_path: str, data: dict[str, Any], model_flags: dict[str, Any] | None = None) -> None:
    """Refuse a ``--ckpt_path`` the command cannot use as meant: none for an evaluation (it would
    score with an untrained model), missing, unreadable, another predictor class than the config's,
    fit with other data settings (the predictor would read inputs it was not built for, or a test
    would count archs it trained on), or with other values of the ``--model`` settings given on the
    command line (``model_flags``): Lightning rebuilds the predictor with the checkpoint's own, so
    such a flag would be ignored without a word. Settings only a config file gives may differ: the
    checkpoint's are used, so a predictor fit with ``--model.init_args.hidden 128`` is evaluated
    with the same config and no flag."""
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
    keys = READ_SETTINGS if command == "predict" else READ_SETTINGS + SPLIT_SETTINGS
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
    from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
    from lightning.pytorch.cli import LightningCLI

    from lightning_nas.atomic import make_folder
    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import RankingPredictor

    class NASCLI(LightningCLI):
        def add_arguments_to_parser(self, parser) -> None:
            # the datamodule decides what the model sees; the model records it in its checkpoint
            for key in ("space", "encoding", "extra_features"):
                parser.link_arguments(f"data.{key}", f"model.init_args.{key}")

        def instantiate_classes(self) -> None:
            super().instantiate_classes()
            for logger in self.trainer.loggers:
                drop_unset_wandb_anonymous(logger)

        def instantiate_trainer(self, **kwargs) -> Trainer:
            # the shipped configs list a RichProgressBar and a ModelCheckpoint, and Lightning refuses either beside
            # the flag that turns it off: `--trainer.enable_progress_bar false` (a batch job) drops it instead
            trainer = self._get(self.config_init, "trainer", default={})
            callbacks = trainer.get("callbacks") or []
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            switched_off = {"enable_progress_bar": ProgressBar, "enable_checkpointing": ModelCheckpoint}
            off = tuple(kind for flag, kind in switched_off.items() if trainer.get(flag) is False)
            if off:
                kwargs["callbacks"] = [c for c in callbacks if not isinstance(c, off)]
            return super().instantiate_trainer(**kwargs)

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
        return NASCLI(RankingPredictor, ArchDataModule, subclass_mode_model=True, args=resolve_config_paths(argv), **kwargs)


def output_folders(trainer: Trainer, command: str | None) -> list[Path]:
    """The folders ``command`` writes into: the loggers', and fit's checkpoints / predict's score file."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    from lightning_nas.writers import ScoreWriter

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

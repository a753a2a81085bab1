import csv
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import lightning_nas
from lightning_nas.benchmarks import create
from lightning_nas.cli import main
from lightning_nas.cli.configs import CONFIG_DIR, resolve_config_paths, shipped_configs
from lightning_nas.cli.fit import check_checkpoint, drop_unset_wandb_anonymous, make_cli, model_flag_names, validate_on_the_last_epoch
from lightning_nas.features import expand_features
from lightning_nas.utils.runs import run_folder
from lightning_nas.search import PredictorScorer, load_predictor

ROOT = Path(__file__).resolve().parents[1]
ON_TWO_CPU_PROCESSES = ("--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp")  # Lightning's DDP, as on 2 GPUs


def _run(*args, cwd=ROOT):
    """``python -m lightning_nas`` in a new process: for the user's day end to end."""
    return subprocess.run([sys.executable, "-m", "lightning_nas", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def user_folder(monkeypatch, tmp_path):
    """The test's own empty working folder (conftest's; loggers, checkpoints and predictions are
    written relative to it) and a bare ``sys.argv``: pytest's own arguments are not the CLI's."""
    monkeypatch.setattr(sys, "argv", ["lightning_nas"])
    return tmp_path


@pytest.fixture
def cli(capsys, monkeypatch, user_folder):
    """The CLI in this process, in ``user_folder``, exactly as ``__main__`` calls it (``sys.exit(main())``
    with ``sys.argv`` set, so an exception escaping ``main`` would be a traceback): returns
    (exit status, stdout, stderr). A new process per call would spend most of its time importing Lightning."""

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["lightning_nas", *args])
        try:
            code = main()
        except SystemExit as exit:  # argparse and jsonargparse exit on --help, --print_config and bad syntax
            code = exit.code or 0
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_prepare_prints_a_summary(cli):
    code, out, _ = cli("prepare", "--space", "nb201")
    assert code == 0
    assert "15625 archs" in out and "cifar10/test_acc@200" in out and "encodings ['renas', 'graph', 'onehot', 'path']" in out


def test_prepare_reports_missing_data_as_one_error_line(cli, tmp_path):
    code, _, err = cli("prepare", "--space", "nb101", "--root", str(tmp_path))
    assert code == 1 and err.splitlines()[-1].startswith("error: no NAS-Bench-101 data in")


def test_bare_config_names_are_found_in_configs():
    assert resolve_config_paths(["fit", "--config", "gnn_201.yaml"])[2].endswith("configs/gnn_201.yaml")
    assert resolve_config_paths(["fit", "-c", "gnn_201"])[2].endswith("configs/gnn_201.yaml")  # the name without .yaml
    inline = "{trainer: {max_epochs: 1}}"  # jsonargparse also takes YAML text after --config
    assert resolve_config_paths(["fit", "--config", inline]) == ["fit", "--config", inline]


def test_the_configs_ship_inside_the_package_and_the_repo_folder_is_them():
    """A wheel (pip install ., the lightning-nas script run anywhere) must carry the configs: they are
    package data, and the repo's configs/ is the same folder."""
    import tomllib

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["lightning_nas"]
    assert CONFIG_DIR.parent == ROOT / "lightning_nas" and "configs/*.yaml" in package_data
    assert (ROOT / "configs").resolve() == CONFIG_DIR and "renas_101.yaml" in shipped_configs()


def test_a_missing_config_file_names_the_shipped_ones(cli):
    for name in ("renas_10.yaml", "renas_10"):  # the parser said "File does not exist" of the bare name, after its whole usage
        code, _, err = cli("fit", f"--config={name}")
        assert code == 1 and err.splitlines() == [err.splitlines()[-1]] and "renas_101.yaml" in err
        assert err.startswith(f"error: config '{name}' not found")


@pytest.mark.parametrize("command", ["validate", "test", "predict"])
def test_evaluating_without_a_checkpoint_is_refused(command, cli):
    code, _, err = cli(command, "--config", "gnn_201.yaml", "--trainer.logger", "false")
    assert code == 1 and err.splitlines()[-1].startswith(f"error: {command} needs --ckpt_path")
    code, _, err = cli(command, "--config", "gnn_201.yaml", "--trainer.logger", "false", "--ckpt_path", "checkpoints/nope.ckpt")
    assert code == 1 and err.splitlines()[-1].startswith("error: checkpoint 'checkpoints/nope.ckpt' not found")


def test_a_checkpoint_is_used_only_with_the_settings_it_was_fit_with(cli, user_folder):
    """Before any data is read: another predictor class, another encoding (would load weights of the
    wrong shape), another split for a test (would count archs the predictor trained on), a file
    that is no checkpoint; the settings it was fit with work."""
    fit = ("--config", "mlp_201.yaml", "--data.encoding", "path", "--model.init_args.ensemble_size", "1", "--trainer.logger", "false")
    code, _, err = cli("fit", *fit, "--trainer.max_epochs", "1", "--trainer.check_val_every_n_epoch", "1")
    assert code == 0, err[-2000:]
    (ckpt,) = (str(p) for p in user_folder.glob("checkpoints/mlp_201-epoch=*.ckpt"))
    (user_folder / "junk.ckpt").write_bytes(b"not a checkpoint")
    edited = torch.load(ckpt, weights_only=False)  # as one of a release whose MLPPredictor was narrower
    edited["hyper_parameters"]["hidden"] //= 2
    torch.save(edited, user_folder / "edited.ckpt")
    for args, message in [
        (("predict", "--config", "gnn_201.yaml", "--ckpt_path", ckpt), f"{ckpt} holds a predictor of class MLPPredictor, the config builds a GNNPredictor"),
        (("predict", "--config", "mlp_201.yaml", "--ckpt_path", ckpt), f"{ckpt} was fit with data.encoding='path' (here 'onehot')"),
        (("test", *fit, "--data.seed", "3", "--ckpt_path", ckpt), f"{ckpt} was fit with data.seed=0 (here 3)"),
        (("predict", *fit, "--ckpt_path", "junk.ckpt"), "cannot read checkpoint junk.ckpt: UnpicklingError"),
        # Lightning rebuilds the predictor with the checkpoint's settings, so a flag asking for others would go unheeded
        (("predict", *fit, "--model.init_args.ensemble_size", "3", "--model.init_args.lr=0.1", "--ckpt_path", ckpt),
         f"{ckpt} was fit with model.ensemble_size=1 (here 3), model.lr=0.001 (here 0.1), and its predictor is rebuilt with the settings it was fit with"),
        (("predict", *fit, "--ckpt_path", "edited.ckpt"),
         f"cannot rebuild the MLPPredictor in edited.ckpt (written by lightning_nas {lightning_nas.__version__}; this is {lightning_nas.__version__}): "
         "RuntimeError: Error(s) in loading state_dict for MLPPredictor: size mismatch"),
    ]:
        code, _, err = cli(*args, "--trainer.logger", "false")
        assert code == 1 and err.splitlines()[-1].startswith(f"error: {message}"), (args, err[-2000:])
    code, out, err = cli("test", *fit, "--ckpt_path", ckpt)
    assert code == 0 and "test/ktau" in out, err[-2000:]
    # a setting only a config gives (mlp_201.yaml's ensemble_size 5) is the checkpoint's: no need to repeat the fit's flags
    code, out, err = cli("predict", "--config", "mlp_201.yaml", "--data.encoding", "path", "--ckpt_path", ckpt, "--trainer.logger", "false")
    assert code == 0 and "wrote 15,625 scores" in out, err[-2000:]
    # fit resolves these itself (resuming from the last checkpoint); they are no files to evaluate
    assert check_checkpoint("fit", "last", "lightning_nas.models.MLPPredictor", {}) is None
    with pytest.raises(ValueError, match="checkpoint 'last' not found"):
        check_checkpoint("test", "last", "lightning_nas.models.MLPPredictor", {})
    # every way of setting a model option on the command line is seen; the class, a nested loss and other groups are not settings
    argv = ["--model.init_args.hidden", "16", "--model.lr=0.1", "--model.init_args.member_kinds+", "gat", "--model", "GNNPredictor",
            "--model.init_args.loss.class_path", "MSELoss", "--model.class_path", "MLPPredictor", "--data.seed", "3"]
    assert model_flag_names(argv) == ["hidden", "lr", "member_kinds"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("score", "--space", "nb201", "--proxies", "naswot,nope", "--archs", "3"), "unknown proxy 'nope'"),
        (("score", "--space", "nb201", "--proxies", "naswot", "--archs", "ten"), "--archs must be 'all' or 1..15625, got ten"),
        (("score", "--space", "nb201", "--proxies", ",", "--archs", "3"), "no proxies requested"),  # was: "0 of 3 archs scored"
        (("score", "--space", "nb201", "--proxies", "naswot,naswot", "--archs", "3"), "proxies names 'naswot' more than once"),
        (("score", "--space", "nb201", "--proxies", "naswot", "--archs", "3", "--seed", "-1"), "seed must be at least 0, got -1"),
        (("score", "--space", "nb201", "--proxies", "naswot", "--archs", "3", "--output", "."), "score table . is a folder"),
        (("score", "--space", "nb101", "--proxies", "tenas_ntk", "--archs", "3"), "the 'tenas_ntk' network is not defined for nb101 archs (it builds ['benchmark']); score tenas_ntk on the benchmark network with full_network=True"),
        (("search", "--space", "nb201", "--strategy", "RandomSearch", "--budget", "50", "--dataset", "cifar11"), "NB201Benchmark(15625 archs, compact CSV) has no dataset 'cifar11'; datasets: ["),
        (("score", "--space", "nb201", "--proxies", "naswot", "--archs", "2", "--archs_per_batch", "0"), "archs_per_batch must be at least 1, got 0"),
        # an output folder that cannot be made: was a NotADirectoryError traceback from pathlib's mkdir
        (("search", "--space", "nb201", "--strategy", "RandomSearch", "--budget", "5", "--output", "/dev/null/s"),
         "cannot write /dev/null/s/seed0/state.pkl: a file stands where a folder should be"),
        (("score", "--space", "nb201", "--proxies", "naswot", "--archs", "2", "--trainer.inference_mode", "true"), "proxy scoring needs autograd"),
        # refused when the scoring sets up: these left scores/nb201-*.csv.settings.json behind
        (("score", "--space", "nb201", "--proxies", "naswot", "--archs", "2", "--images", "no_such.npz"), "no_such.npz: no such file or folder"),
        (("score", "--space", "nb201", "--proxies", "naswot", "--archs", "2", "--dataset", "cifar11"), "unknown dataset 'cifar11'"),
        (("fit", "--config", "renas_201.yaml", "--data.num_train", "0", "--trainer.logger", "false"), "num_train=0 must be between 1 and"),
        (("fit", "--config", "renas_201.yaml", "--data.augment", "-1", "--trainer.logger", "false"), "augment must be at least 0, got -1"),
        (("fit", "--config", "renas_201.yaml", "--data.train_ratio", "0.05", "--trainer.logger", "false"),  # the config sets num_train
         "give exactly one of num_train (e.g. 424) or train_ratio (e.g. 0.01), got num_train=156 and train_ratio=0.05 (on the command line, --data.num_train null unsets a config's num_train)"),
        (("fit", "--config", "renas_201.yaml", "--data.augment", "2", "--trainer.logger", "false"), "space 'nb201' has a fixed vertex layout"),
        (("fit", "--config", "renas_201.yaml", "--model.init_args.lr", "0", "--trainer.logger", "false"), "lr must be positive, got 0.0"),
        (("fit", "--config", "renas_201.yaml", "--data.space", "nats_sss", "--trainer.logger", "false"), "encoding 'renas' is not defined for space 'nats_sss'; it has ['onehot']"),
        (("fit", "--config", "renas_201.yaml", "--trainer.devices", "0", "--trainer.logger", "false"), "`Trainer(devices='0')` value is not a valid input"),  # Lightning's
    ],
)
def test_bad_settings_are_one_line_errors(args, message, cli, user_folder):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, err = cli(*args)
    assert code == 1 and f"error: {message}" in err
    assert not list(user_folder.rglob("*")), "a refused command writes nothing"
    assert not [w for w in caught if "args parameter is intended" in str(w.message)]  # Lightning's warning about passing resolved argv


def test_a_bad_data_setting_fails_before_wandb_starts_a_run(cli, user_folder):
    code, _, err = cli("fit", "--config", "gnn_201.yaml", "--data.num_train", "0")  # the config's W&B logger, offline
    assert code == 1 and "error: num_train=0 must be between 1 and" in err
    assert not (user_folder / "logs").exists() and not (user_folder / "checkpoints").exists()  # no run, not even empty folders


def test_a_data_error_is_the_first_thing_a_fit_prints(tmp_path):
    """Lightning's lines on the devices ('GPU available: False ...') came before a bad data setting's error."""
    proc = _run("fit", "--config", "renas_201.yaml", "--data.num_train", "0", "--trainer.logger", "false", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.splitlines()[-1].startswith("error: num_train=0 must be between 1 and")
    assert "GPU available" not in proc.stderr and "TPU" not in proc.stderr


@pytest.mark.parametrize(("in_the_way", "extra"), [("logs", ()), ("checkpoints", ("--trainer.logger", "false"))])
def test_an_output_folder_that_cannot_be_made_is_an_error_before_training(in_the_way, extra, cli, user_folder):
    (user_folder / in_the_way).write_text("")  # a file where fit writes its W&B run / its checkpoints
    code, _, err = cli("fit", "--config", "gnn_201.yaml", "--trainer.max_epochs", "1", *extra)
    assert code == 1 and "error: cannot write" in err and f"{in_the_way} or a folder above it)" in err
    assert "Epoch" not in err and not (user_folder / "runs").exists()  # was: a FileExistsError traceback, for checkpoints after training


@pytest.mark.parametrize(
    ("command", "config", "meant_for"),
    [("fit", "search_rea_101.yaml", "search"), ("predict", "search_rea_201.yaml", "search"), ("search", "search_gnn_101.yaml", "fit")],
)
def test_a_config_for_another_command_names_the_command_that_runs_it(command, config, meant_for, cli):
    code, _, err = cli(command, "--config", config)
    assert code == 1
    assert err.splitlines()[-1].startswith(f"error: {config} is a config for `{meant_for}`")
    assert f"python -m lightning_nas {meant_for} --config {config}" in err


@pytest.mark.parametrize(("command", "config", "first"), [("fit", "self_train_101.yaml", "gnn_101.yaml"), ("test", "distill_101_4236.yaml", "renas_101_4236.yaml")])
def test_a_config_that_completes_another_names_the_one_to_give_first(command, config, first, cli):
    code, _, err = cli(command, "--config", config)  # was the parser's "the following arguments are required: fit.model"
    assert code == 1 and err.splitlines()[-1] == (
        f"error: no model: no config given sets one ({config}). {config} completes a config given before it: "
        f"`python -m lightning_nas {command} --config {first} --config {config}`"
    )


def test_top_level_help_lists_the_commands_configs_and_the_data_in_use(cli, tmp_path, monkeypatch):
    code, out, _ = cli("--help")
    assert code == 0
    commands, _, data = out.partition("data in use")
    listed = {line.split()[0] for line in commands.splitlines() if line.startswith("  ")}
    assert listed == {"fit", "validate", "test", "predict", "prepare", "score", "search", "train"}
    assert "renas_101.yaml" in commands
    assert "nb101     nb101/nb101_full_space.npz (embedded in the package)" in data and "nats_sss  none found" in data and "darts     none found" in data
    (tmp_path / "mine" / "nb201").mkdir(parents=True)  # a user's folder with the NB201 table: it is named instead
    (tmp_path / "mine" / "nb201" / "nb201_acc_200ep.csv").write_text("index\n")
    monkeypatch.setenv("LIGHTNING_NAS_DATA", str(tmp_path / "mine"))
    code, out, _ = cli("--help")
    assert f"nb201     {tmp_path / 'mine' / 'nb201' / 'nb201_acc_200ep.csv'}" in out
    code, _, err = cli()
    assert code == 2 and err.startswith("usage:")  # no command: usage on stderr, failure status
    code, out, _ = cli("--version")
    assert code == 0 and out == f"lightning_nas {lightning_nas.__version__}\n" and lightning_nas.__version__[0].isdigit()


def test_fit_help_lists_model_and_data_options(cli):
    code, out, _ = cli("fit", "--help")
    assert code == 0 and "--data.num_train" in out and "--model" in out
    flat = " ".join(out.split())  # argparse wraps the descriptions
    assert "--data.encoding ENCODING what the model reads: renas, graph, onehot or path." in flat  # from the docstrings
    code, out, _ = cli("fit", "--model.help", "GNNPredictor")
    flat = " ".join(out.split())
    assert code == 0 and "--model.member_kinds+ MEMBER_KINDS the kind of each ensemble member" in flat
    # the losses on offer are the ranking losses, not every torch.nn.Module
    assert "known subclasses: lightning_nas.models.ReNASLoss, lightning_nas.models.PairwiseLogisticLoss, lightning_nas.models.MSELoss)" in flat


@pytest.mark.parametrize("config", ["renas_101", "renas_101_4236", "renas_201", "gnn_101", "gnn_101_4236", "gnn_201", "mlp_201", "search_gnn_101", "search_gnn_201"])
def test_shipped_fit_configs_build_their_model_data_and_trainer(config, user_folder):
    """Every config a user is told to ``fit`` parses and instantiates (data is read only at fit),
    and the model's head is as wide as the extra features the datamodule will give it."""
    cli = make_cli(["--config", f"{config}.yaml"], run=False)
    features = cli.datamodule.hparams.extra_features
    assert cli.model.hparams.extra_features == features and cli.model.num_extra == len(expand_features(features, cli.datamodule.hparams.space))
    assert cli.model.hparams.input_shape == cli.datamodule.input_shape  # linked: the model is built for what the data feeds
    assert cli.model.hparams.space == cli.datamodule.hparams.space


@pytest.mark.parametrize("flag", ["enable_progress_bar", "enable_checkpointing"])
def test_turning_off_the_progress_bar_or_checkpoints_drops_the_configs_callback(flag, user_folder):
    from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar

    kind = {"enable_progress_bar": ProgressBar, "enable_checkpointing": ModelCheckpoint}[flag]
    assert any(isinstance(c, kind) for c in make_cli(["--config", "gnn_201.yaml"], run=False).trainer.callbacks)
    cli = make_cli(["--config", "gnn_201.yaml", f"--trainer.{flag}", "false"], run=False)  # Lightning refused the pair
    assert not [c for c in cli.trainer.callbacks if isinstance(c, kind)]


def test_a_fit_logs_its_ranking_loss_kendall_tau_and_plots_to_wandb(user_folder):
    """What a W&B dashboard of a shipped config shows (offline, as by default): the training loss, the
    validation and test rank correlations, the predicted-vs-true scatter and the training curves."""
    cli = make_cli(["fit", "--config", "gnn_201.yaml", "--model.init_args.ensemble_size", "1", "--trainer.max_epochs", "2"])
    run = cli.trainer.logger.experiment
    try:
        logged = set(run.summary.keys())
    finally:
        run.finish()
    assert {"train/loss", "val/ktau", "val/spearman", "test/ktau", "test/spearman", "test/predicted_vs_true", "fit/training_curves"} <= logged, logged


def test_bad_config_is_a_clear_error(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "configs" / "gnn_201.yaml").read_text().replace("num_train: 156", "num_trian: 156"))
    code, _, err = cli("fit", "--config", str(bad))
    assert code != 0 and "num_trian" in err


def test_fit_then_predict_end_to_end(tmp_path):
    """The user's day on a small budget: fit with W&B offline, checkpoint, test, then predict.
    2 epochs on a config that validates every 25: the last epoch is validated all the same."""
    common = ["--config", "gnn_201.yaml", "--model.init_args.ensemble_size", "1", "--trainer.max_epochs", "2"]
    proc = _run("fit", *common, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test/ktau" in proc.stdout
    assert "check_val_every_n_epoch 25 -> 2" in proc.stderr
    # none of the noise a first run used to print: dependencies' deprecations, a log interval
    # longer than an epoch, W&B's search for the git commit from a folder not yet created, Lightning's cloud tips,
    # wandb's word on the `anonymous=None` Lightning passes, Lightning's on testing "best" beside two checkpoint callbacks
    # and on the predictor's training curves replacing themselves when fit's test attaches them again
    for noise in ("`torch.jit.script` is deprecated", "LeafSpec", "smaller than the logging interval", "git root", "💡 Tip", "anonymous setting",
                  "multiple `ModelCheckpoint`", "will override existing callbacks", "exists and is not empty"):
        assert noise not in proc.stderr, noise
    # its output went to a pipe, as a batch job's does: progress lines, no terminal codes (W&B's included)
    assert "fit ended after 2 epochs  train/loss" in proc.stdout and "\x1b[" not in proc.stdout + proc.stderr
    (ckpt,) = (tmp_path / "checkpoints").glob("gnn_201-epoch=1.ckpt")
    (wandb_run,) = (tmp_path / "logs" / "wandb").glob("offline-run-*")
    (run,) = (tmp_path / "runs" / "gnn_201").iterdir()  # named by config, time and W&B run id; the exact config of the run with it
    assert run.name.endswith(wandb_run.name.rsplit("-", 1)[1]) and "max_epochs: 2" in (run / "config.yaml").read_text()
    assert {p.name for p in run.glob("*.png")} == {"predicted_vs_true.png", "training_curves.png"}
    # predict's first batch holds the 300 archs scored below at once: a CPU's matrix kernels may round
    # differently in batches of other sizes (seen on one with AMX), so only like batches compare digit for digit
    proc = _run("predict", *common, "--ckpt_path", str(ckpt), "--data.eval_batch_size", "300", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list((tmp_path / "logs" / "wandb").glob("offline-run-*"))) == 1  # predict opens no W&B run
    assert len(list((tmp_path / "runs" / "gnn_201").iterdir())) == 2  # its config is kept in a run folder of its own
    rows = list(csv.DictReader((tmp_path / "predictions" / "gnn_201.csv").read_text().splitlines()))
    assert len(rows) == 15_625 and rows[6111]["key"].startswith("|nor_conv_3x3~0|")
    assert sum(int(r["seen_label"]) for r in rows) == 156 + 200  # training + validation archs
    bench = create("nb201")
    exact = PredictorScorer(load_predictor(ckpt), bench, "cifar10")([bench.arch(i) for i in range(300)])
    np.testing.assert_array_equal(np.float32([float(r["score"]) for r in rows[:300]]), np.float32(exact))  # the file keeps every digit
    # self-training: a second fit on the same split, with the first predictor's scores as pseudo-labels
    proc = _run("fit", *common, "--data.pseudo_labels", "predictions/gnn_201.csv", "--data.num_pseudo", "300", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "test/ktau" in proc.stdout


@pytest.mark.parametrize(
    "first, second, teacher_scores, num_pseudo, model, model_setting, name",
    [
        ("gnn_101", "self_train_101", "gnn_101", 2000, "GNNPredictor", "member_kinds:", "gnn_101_self_train"),
        ("renas_101_4236", "distill_101_4236", "gnn_101_4236", 16000, "ReNASPredictor", "filters: square+cross", "distill_101_4236"),
    ],
)
def test_pseudo_label_configs_compose_with_the_config_they_follow(first, second, teacher_scores, num_pseudo, model, model_setting, name, cli):
    """The second config keeps the first one's model and data and adds the teacher's scores as
    pseudo-labels, under its own checkpoint and score-file names (the teacher's are not overwritten)."""
    code, out, err = cli("fit", "--config", f"{first}.yaml", "--config", f"{second}.yaml", "--print_config")
    assert code == 0, err[-3000:]
    assert f"pseudo_labels: predictions/{teacher_scores}.csv" in out and f"num_pseudo: {num_pseudo}" in out
    assert f"lightning_nas.models.{model}" in out and model_setting in out
    assert f"filename: {name}-{{epoch}}" in out and f"output: predictions/{name}.csv" in out


@pytest.mark.parametrize(("every", "max_epochs", "validated_every"), [(25, 30, 15), (25, 3, 3), (25, 7, 7), (10, 40, 10), (None, 5, None), (25, -1, 25)])
def test_the_last_epoch_is_always_validated(every, max_epochs, validated_every):
    """The validation interval shrinks to the largest divisor of max_epochs not above it; an interval
    that already divides it, validation by steps (None) and endless training (-1) are left alone."""
    trainer = SimpleNamespace(check_val_every_n_epoch=every, max_epochs=max_epochs)
    validate_on_the_last_epoch(trainer)
    assert trainer.check_val_every_n_epoch == validated_every


def test_fit_without_validation_tests_the_final_weights(cli, user_folder):
    code, out, err = cli("fit", "--config", "gnn_201.yaml", "--model.init_args.ensemble_size", "1", "--trainer.max_epochs", "1",
                         "--trainer.limit_val_batches", "0", "--trainer.logger", "false")
    assert code == 0 and "warning: no best checkpoint was saved (no validation ran)" in err
    assert "test/ktau" in out and not list(user_folder.glob("checkpoints/gnn_201-epoch=*.ckpt"))


def test_only_an_unset_wandb_anonymous_is_left_out(tmp_path):
    from lightning.pytorch.loggers import WandbLogger

    unset, given = WandbLogger(save_dir=tmp_path), WandbLogger(save_dir=tmp_path, anonymous=True)
    for logger in (unset, given):
        drop_unset_wandb_anonymous(logger)
    assert "anonymous" not in unset._wandb_init and given._wandb_init["anonymous"] == "allow"


def test_a_fit_keeps_its_last_epoch_and_resumes_from_it(cli, user_folder, caplog):
    """Beside the best-validated checkpoint, fit keeps the latest saved epoch (every 10th in gnn_201.yaml,
    whether validated or not), which --ckpt_path resumes: training goes on from that epoch, not from the
    start. The file keeps its name, and the next fit of the config replaces it."""
    common = ["--config", "gnn_201.yaml", "--model.init_args.ensemble_size", "1", "--trainer.logger", "false"]
    code, _, err = cli("fit", *common, "--trainer.max_epochs", "15")  # validates epoch 15 only
    assert code == 0, err[-3000:]
    last = user_folder / "checkpoints" / "gnn_201-last.ckpt"
    state = torch.load(last, weights_only=False)
    assert (state["epoch"], state["global_step"]) == (9, 10 * 3)  # 156 archs: 3 batches an epoch
    code, _, err = cli("fit", *common, "--trainer.max_epochs", "20", "--ckpt_path", str(last))
    assert code == 0, err[-3000:]
    assert "Restored all states from the checkpoint" in caplog.text  # Lightning's log line
    state = torch.load(last, weights_only=False)
    # ten epochs more; Lightning repeats one batch when it resumes from an epoch's end (its issue #19403)
    assert state["epoch"] == 19 and state["global_step"] in (20 * 3, 20 * 3 + 1)
    # a new fit of the config in the same folder takes the name over: the name always holds the latest fit
    code, _, err = cli("fit", *common, "--trainer.max_epochs", "10")
    assert code == 0, err[-3000:]
    assert torch.load(last, weights_only=False)["global_step"] == 10 * 3
    assert not list((user_folder / "checkpoints").glob("gnn_201-last-v*.ckpt"))


def test_runs_without_a_logger_keep_their_own_config_plots_and_search(cli, user_folder):
    """A second search fit without a logger used to find the first one's search state under the same
    name (search/run/, another predictor's) and stop after its training; its plot replaced the first one's."""
    common = ["--config", "search_gnn_201.yaml", "--model.init_args.ensemble_size", "1", "--trainer.max_epochs", "1", "--trainer.logger", "false"]
    for seed in ("0", "1"):
        code, _, err = cli("fit", *common, "--seed_everything", seed)
        assert code == 0, err[-3000:]
    runs = sorted((user_folder / "runs" / "search_gnn_201").iterdir())  # named by the config, then the time
    assert len(runs) == 2
    for run, seed in zip(runs, "01"):
        assert f"seed_everything: {seed}" in (run / "config.yaml").read_text()  # each run's own config with its files
        assert {p.name for p in run.iterdir()} == {"config.yaml", "predicted_vs_true.png", "search", "training_curves.png"}


def test_runs_named_in_one_second_get_folders_of_their_own(tmp_path):
    class Unlogged:  # what run_folder reads of a Trainer
        logger, default_root_dir = None, tmp_path

    trainers = [Unlogged() for _ in range(3)]
    folders = [run_folder(trainer) for trainer in trainers]
    assert len(set(folders)) == 3 and all(folder.parent == tmp_path / "runs" / "run" for folder in folders)
    assert run_folder(trainers[0]) == folders[0]  # one folder per run


def test_a_fast_dev_run_checks_the_test_loop_too_and_writes_nothing(cli, user_folder):
    """Lightning's fast_dev_run runs one batch of each loop to smoke out bugs; fit's test is one of them."""
    code, out, err = cli("fit", "--config", "gnn_201.yaml", "--model.init_args.ensemble_size", "1", "--trainer.fast_dev_run", "true")
    assert code == 0 and "test/ktau" in out and "warning" not in err
    assert not [p for p in user_folder.rglob("*") if p.is_file()]


def _test_ktau(out: str) -> str:
    """test/ktau as Lightning's results table prints it."""
    (line,) = [line for line in out.splitlines() if "test/ktau" in line]
    return line.split("│")[2].strip()


def test_fit_and_predict_on_two_cpu_processes_read_each_arch_once(tmp_path, cli):
    """Under DDP each device tests or scores its share of the archs; Lightning's default sampler would
    pad the shares with repeats. The test's Kendall tau equals a one-process test of the same
    checkpoint, one device draws the plot of all archs, and `predict` writes one file of every arch."""
    common = ["--config", "gnn_201.yaml", "--model.init_args.ensemble_size", "1"]
    proc = _run("fit", *common, *ON_TWO_CPU_PROCESSES, "--trainer.max_epochs", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sync_dist=True" not in proc.stderr and "DistributedSampler" not in proc.stderr  # Lightning's warnings about both
    assert sorted(p.name for p in (tmp_path / "runs").rglob("*.png")) == ["predicted_vs_true.png", "training_curves.png"]  # once, not once per device
    (ckpt,) = (tmp_path / "checkpoints").glob("gnn_201-epoch=*.ckpt")
    common += ["--ckpt_path", str(ckpt), "--trainer.logger", "false"]
    code, out, err = cli("test", *common)
    assert code == 0, err[-3000:]
    assert _test_ktau(proc.stdout) == _test_ktau(out)
    proc = _run("predict", *common, *ON_TWO_CPU_PROCESSES, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("wrote 15,625 scores") == 1
    on_two_file = (tmp_path / "predictions" / "gnn_201.csv").read_text()
    code, out, err = cli("predict", *common)
    assert code == 0, err[-3000:]
    on_one, on_two = (_score_file(text) for text in ((tmp_path / "predictions" / "gnn_201.csv").read_text(), on_two_file))
    assert on_two[0] == on_one[0]  # every arch once, in row order, with the same seen_label marks
    # the devices' batches hold other archs than one device's, and a CPU's kernels may round differently with them
    np.testing.assert_allclose(on_two[1], on_one[1], rtol=0, atol=1e-6 * np.abs(on_one[1]).max())


def _score_file(text: str) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """A predict score file's (row, key, seen_label) lines and its scores."""
    rows = list(csv.DictReader(text.splitlines()))
    return [(r["row"], r["key"], r["seen_label"]) for r in rows], np.array([float(r["score"]) for r in rows])


def test_a_validation_set_of_one_arch_is_one_error_before_the_devices_start(tmp_path):
    """It was an assertion inside Lightning's sampler on one device and a 'Connection closed by peer' traceback on the
    other; a rank correlation of one arch is undefined anyway (and a set smaller than the devices, one arch for each
    of them at least, is refused as each device sets up)."""
    proc = _run("fit", "--config", "gnn_201.yaml", "--trainer.logger", "false", "--data.num_val", "1",
                *ON_TWO_CPU_PROCESSES, cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == "error: 1 arch to validate on: a rank correlation needs at least 2 (num_val=1; 0 validates nothing)"


def test_a_search_after_a_fit_on_two_cpu_processes_runs_once(tmp_path):
    """SearchCallback under DDP: one device searches, the others wait for it and then test."""
    proc = _run("fit", "--config", "search_gnn_201.yaml", "--model.init_args.ensemble_size", "1", "--trainer.max_epochs", "1",
                *ON_TWO_CPU_PROCESSES, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("search seed 0: 100 queries") + proc.stderr.count("search seed 0: 100 queries") == 1
    (run,) = (tmp_path / "runs" / "search_gnn_201").iterdir()
    assert (run / "search" / "seed0" / "best.json").is_file() and "test/ktau" in proc.stdout


def test_score_spreads_the_archs_over_two_cpu_processes_with_ddp(tmp_path, data_root):
    """`score --trainer.devices 2` on Lightning's DDP: each rank scores its share into its own
    parts, the merged table equals a one-process run, and the summary is printed once."""
    common = ["score", "--space", "nb201", "--proxies", "synflow,params", "--archs", "12", "--archs_per_batch", "2", "--root", str(data_root)]
    spread = _run(*common, "--output", str(tmp_path / "ddp.csv"), *ON_TWO_CPU_PROCESSES, cwd=tmp_path)
    assert spread.returncode == 0, spread.stderr[-3000:]
    assert spread.stdout.count("12 of 12 archs scored in this run") == 1
    single = _run(*common, "--output", str(tmp_path / "one.csv"), cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    rows = {name: sorted(csv.DictReader((tmp_path / name).read_text().splitlines()), key=lambda r: r["key"]) for name in ("ddp.csv", "one.csv")}
    assert rows["ddp.csv"] == rows["one.csv"] and len(rows["one.csv"]) == 12
    # fewer archs than devices (e.g. the last one of a resumed table): was an AssertionError in Lightning's sampler
    common[common.index("12")] = "1"
    spread = _run(*common, "--output", str(tmp_path / "one_arch.csv"), *ON_TWO_CPU_PROCESSES, cwd=tmp_path)
    assert spread.returncode == 0, spread.stderr[-3000:]
    assert spread.stdout.count("1 of 1 archs scored in this run") == 1
    assert len((tmp_path / "one_arch.csv").read_text().splitlines()) == 1 + 1  # the header and one row

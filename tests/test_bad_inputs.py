"""Fault injection: the inputs a careless or hostile user gives, each written here in the exact format of the real
file it damages. Every case must end in one error line that names the file, arch or setting at fault (or a
documented warning with its exact fallback), never in a traceback or in a result that silently changed. The
session prints ``{"figure": "bad_inputs", "tried", "clear_error", "traceback", "silent"}`` (conftest.py)."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import lightning  # noqa: F401 - imported at collection, so that its log handlers write to pytest's session streams, not to one test's
import numpy as np
import pytest
import torch

from lightning_nas.benchmarks import NB101Benchmark, NB201Benchmark, create
from lightning_nas.benchmarks.tfrecord import write_records
from lightning_nas.cli import main
from lightning_nas.spaces import NB101Space
from lightning_nas.utils.errors import LightningNASError

from test_benchmarks import _record, _sample_nb101
from test_spaces import INCEPTION


def outcome(action: Callable[[], object], match: str) -> tuple[str, str]:
    """How ``action`` ended: ``clear_error`` (a LightningNASError, one line, matching ``match``), ``unclear`` (ours,
    but not saying what ``match`` expects), ``traceback`` (any other exception) or ``silent`` (no error at all)."""
    try:
        action()
    except LightningNASError as exc:
        text = str(exc)
        return ("clear_error" if re.search(match, text) and "\n" not in text.strip() else "unclear"), text
    except Exception as exc:  # noqa: BLE001 - what the suite counts
        return "traceback", f"{type(exc).__name__}: {exc}"
    return "silent", ""


def command_outcome(args: list[str], match: str, capsys, monkeypatch) -> tuple[str, str]:
    """The command line's ending: one ``error:`` line with exit status 1 is a clear error."""
    monkeypatch.setattr(sys, "argv", ["lightning_nas", *args])
    capsys.readouterr()
    try:
        code = main(args)
    except SystemExit as exit:
        code = exit.code
    except Exception as exc:  # noqa: BLE001
        return "traceback", f"{type(exc).__name__}: {exc}"
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1] if err else ""
    if code == 0:
        return "silent", err
    if "Traceback" in err:
        return "traceback", err
    return ("clear_error" if code == 1 and last.startswith("error: ") and re.search(match, last) else "unclear"), last


@pytest.fixture
def expect(bad_inputs):
    """``expect(action, match)`` / ``expect(args, match, cli=True)``: records the outcome and asserts a clear error."""

    def check(action, match: str, capsys=None, monkeypatch=None) -> str:
        kind, text = command_outcome(action, match, capsys, monkeypatch) if isinstance(action, list) else outcome(action, match)
        bad_inputs.append(kind)
        assert kind == "clear_error", f"{kind}: {text[-1500:]}"
        return text

    return check


# -- NB101: the compact table and the official tfrecord ----------------------------------------------------------------

@pytest.fixture
def nb101_npz(data_root, tmp_path):
    """A 300-cell table in the compact format, which each case damages in one way."""
    path = _sample_nb101(data_root, tmp_path / "nb101", rows=300)
    with np.load(path) as npz:
        return path, {k: npz[k].copy() for k in npz.files}


def _rewrite(path: Path, arrays: dict[str, np.ndarray], **changes) -> None:
    np.savez(path, **{**arrays, **changes})


@pytest.mark.parametrize(("damage", "match"), [
    (lambda a: {"test_acc_run0": a["test_acc_run0"].astype(str)}, r"nb101_full_space.npz: field 'test_acc_run0' is not numeric"),
    (lambda a: {"test_acc_run0": np.where(np.arange(300) == 7, np.inf, a["test_acc_run0"])}, r"test_acc_run0@108 of arch '\w+' \(row 7\) is inf, outside 0..100"),
    (lambda a: {"test_acc_run0": np.where(np.arange(300) == 5, 1.7, a["test_acc_run0"])}, r"\(row 5\) is 170.0\d*, outside 0..100"),  # a percent stored as a fraction twice
    (lambda a: {"test_acc_run0": np.where(np.arange(300) == 9, np.nan, a["test_acc_run0"])}, r"\(row 9\) is nan, outside 0..100 \(and no arch may lack it\)"),
    (lambda a: {"params": np.where(np.arange(300) == 3, -5, a["params"])}, r"cifar10/params of arch '\w+' \(row 3\) is -5.0"),
    (lambda a: {"ops": np.where((np.arange(300) == 4)[:, None] & (np.arange(7) == 1), 9, a["ops"])}, r"arch '\w+' \(row 4\) is not a valid arch \(op codes outside -1..4\)"),
    (lambda a: {"adjacency": np.where((np.arange(300) == 6)[:, None, None] & (np.eye(7, k=-1) > 0), 1, a["adjacency"])},
     r"\(row 6\) is not a valid arch \(an edge backwards or to itself"),
    (lambda a: {"module_hash": np.where(np.arange(300) == 8, a["module_hash"][9], a["module_hash"])}, r"is listed 2 times; each arch has one record"),
    (lambda a: {"module_hash": np.where(np.arange(300) == 8, b"0" * 32, a["module_hash"])}, r"cell '0{32}' \(row 8\) has the matrix and ops of another cell"),
])
def test_a_damaged_compact_nb101_table_is_refused(nb101_npz, tmp_path, damage, match, expect):
    path, arrays = nb101_npz
    _rewrite(path, arrays, **damage(arrays))
    expect(lambda: NB101Benchmark(root=tmp_path, partial=True), match)


def test_a_smaller_compact_table_is_refused_unless_asked_for(nb101_npz, tmp_path, expect):
    expect(lambda: NB101Benchmark(root=tmp_path), r"nb101_full_space.npz: 300 cells, the benchmark has 423,624: the file is cut short .* partial=True")
    assert len(NB101Benchmark(root=tmp_path, partial=True)) == 300  # asked for: loaded, and cached
    expect(lambda: NB101Benchmark(root=tmp_path), r"300 cells, the benchmark has 423,624")  # the cached table is not taken for a whole one


@pytest.fixture
def nb101_tfrecord(tmp_path):
    space = NB101Space()
    archs = [space.validate(INCEPTION), space.sample(np.random.default_rng(3)), space.sample(np.random.default_rng(4))]
    path = tmp_path / "nb101" / "nasbench_only108.tfrecord"
    path.parent.mkdir()
    return path, archs


def test_a_tfrecord_cut_at_a_record_boundary_is_not_a_smaller_benchmark(nb101_tfrecord, tmp_path, expect):
    """The last cell keeps 1 of its 3 runs: its 'mean of 3 runs' would have been one run."""
    path, archs = nb101_tfrecord
    records = [_record(a, 108, run, 1000 + i) for i, a in enumerate(archs) for run in range(3)]
    write_records(path, records[:-2])  # cut exactly after a record
    expect(lambda: NB101Benchmark(root=tmp_path), r"nasbench_only108.tfrecord: cell '\w+' has 1 runs at 108 epochs, the benchmark has 3 .* partial=True")
    assert NB101Benchmark(root=tmp_path, partial=True).query(archs[2], metric="test_acc_run0") == pytest.approx(90, abs=1e-4)  # asked for
    write_records(path, records)
    expect(lambda: NB101Benchmark(root=tmp_path), r"3 cells, the benchmark has 423,624: the file is cut short")


@pytest.mark.parametrize(("records", "match"), [
    (lambda archs: [_record(a, 108, run, 1000) for a in archs for run in range(4)], r"cell '\w+' has 4 runs at 108 epochs, the benchmark has 3"),
    (lambda archs: [_record(a, 108, run, 1000, test=1.5) for a in archs for run in range(3)], r"cifar10/test_acc@108 of arch '\w+' \(row 0\) is 1[45]\d.\d+, outside 0..100"),
])
def test_a_tfrecord_with_too_many_runs_or_impossible_values_is_refused(nb101_tfrecord, tmp_path, records, match, expect):
    path, archs = nb101_tfrecord
    write_records(path, records(archs))
    expect(lambda: NB101Benchmark(root=tmp_path, partial=True), match)


def test_a_tfrecord_whose_hash_names_another_cell_is_refused(nb101_tfrecord, tmp_path, expect):
    from lightning_nas.benchmarks.tfrecord import ModelMetrics, nb101_record

    path, archs = nb101_tfrecord
    metrics = ModelMetrics()
    metrics.trainable_parameters = 1000
    for _ in range(3):
        metrics.evaluation_data.add(training_time=1.0, train_accuracy=0.9, validation_accuracy=0.9, test_accuracy=0.9)
    wrong = nb101_record(archs[1].module_hash, 108, archs[0].matrix.tolist(), archs[0].ops, metrics)
    write_records(path, [wrong] * 3)
    expect(lambda: NB101Benchmark(root=tmp_path, partial=True), rf"cell '{archs[1].module_hash}' \(row 0\) has the matrix and ops of another cell")


# -- NB201: the compact CSV tables ------------------------------------------------------------------------------------

@pytest.fixture
def nb201_csv(data_root, tmp_path):
    folder = tmp_path / "nb201"
    folder.mkdir()
    for name in ("nb201_acc_200ep.csv", "nb201_acc_12ep.csv", "nb201_valid_per_seed_200ep.csv.gz"):
        shutil.copy(data_root / "nb201" / name, folder)
    return folder


def _set_value(path: Path, row: int, column: str, value: str) -> None:
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[row + 1].split(",")
    fields[header.index(column)] = value
    lines[row + 1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("column", "value", "match"), [
    ("cifar10_test_acc", "193.5", r"nb201_acc_200ep.csv: cifar10/test_acc@200 of arch '\|[^']+\|' \(row 17\) is 193.5, outside 0..100"),
    ("cifar10_test_acc", "inf", r"cifar10/test_acc@200 .* \(row 17\) is inf"),
    ("params_m_cifar10", "-1", r"cifar10(-valid)?/params of arch .* \(row 17\) is -1000000.0"),
    ("train_time_s_cifar100", "nan", r"cifar100/train_time@200 .* \(row 17\) is nan, outside .* \(and no arch may lack it\)"),
    ("cifar100_test_acc", "seventy", r"column 'cifar100_test_acc' is not numeric"),
])
def test_a_damaged_nb201_table_is_refused(nb201_csv, tmp_path, column, value, match, expect):
    _set_value(nb201_csv / "nb201_acc_200ep.csv", 17, column, value)
    expect(lambda: NB201Benchmark(root=tmp_path), match)


def test_one_blank_validation_value_is_a_damaged_table_not_a_switch_to_test_accuracy(nb201_csv, tmp_path, expect, capsys, monkeypatch):
    """A search used to select on test accuracy instead, without a word, and best.json said it selected on validation."""
    bench = create("nb201", root=tmp_path)
    blank = int(np.argmax(bench.column("val_acc", "cifar10-valid")))  # the arch a search would find
    _set_value(nb201_csv / "nb201_acc_200ep.csv", blank, "cifar10_valid_valid_acc", "")
    search = ["search", "--space", "nb201", "--dataset", "cifar10", "--budget", "30", "--strategy", "RandomSearch", "--root", str(tmp_path)]
    expect(search, rf"nb201_acc_200ep.csv: cifar10-valid/val_acc@200 of arch .* \(row {blank}\) is nan, outside 0..100 \(and no arch may lack it\)", capsys, monkeypatch)


def test_a_search_never_selects_on_another_column_than_it_records(expect, capsys, monkeypatch):
    """Selecting on a column some archs lack (NB101's single-run validation accuracy, 30,001 cells) is an error at the
    first arch without it; selecting on test accuracy is a choice the user makes, and best.json records it."""
    search = ["search", "--space", "nb101", "--budget", "40", "--strategy", "RandomSearch", "--seeds", "[0]"]
    expect([*search, "--select", "val_acc_single_run", "--output", "a"],
           r"arch '\w+' \(row \d+\) has no cifar10/val_acc_single_run@108 \(nan\), which the search selects on; select on another column on purpose", capsys, monkeypatch)
    assert main(["search", "--space", "nb201", "--dataset", "cifar10", "--budget", "20", "--strategy", "RandomSearch", "--select", "test_acc", "--output", "b"]) == 0
    best = json.loads(Path("b/seed0/best.json").read_text())
    assert best["selected_on"] == "cifar10/test_acc@200" == best["reported"]
    state = Path("b/seed0/state.pkl")
    assert main(["search", "--space", "nb201", "--dataset", "cifar10", "--budget", "30", "--strategy", "RandomSearch", "--output", "b"]) == 1  # not resumed under another column
    assert "'select': ('cifar10/test_acc@200', 'cifar10-valid/val_acc@200')" in capsys.readouterr().err and state.is_file()


# -- the NATS-Bench archive -------------------------------------------------------------------------------------------

def test_an_archive_value_out_of_range_is_refused(tmp_path, expect):
    from lightning_nas.spaces import NB201Space

    from test_nats_archive import EPOCHS, _write_archive

    path = _write_archive(tmp_path / "NATS-tss-v1_0-3ffb9-simple.pickle.pbz2", NB201Space(), EPOCHS, 42, {"12": 88.0, "200": 140.0})
    expect(lambda: NB201Benchmark(source=path), r"NATS-tss-v1_0-3ffb9-simple.pickle.pbz2: cifar10-valid/val_acc@200 of arch '\|[^']+\|' \(row 42\) is 140.5, outside 0..100")


# -- files lightning_nas writes: checkpoints, predictions, score tables, search states ---------------------------------

@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A fit with --data.seed 3 (1 epoch of the MLP), as a user's checkpoints/ folder holds it."""
    folder = tmp_path_factory.mktemp("fitted")
    common = ["--config", "mlp_201.yaml", "--trainer.logger", "false", "--model.init_args.ensemble_size", "1"]
    import os

    here = os.getcwd()
    os.chdir(folder)
    try:
        assert main(["fit", *common, "--trainer.max_epochs", "1", "--data.seed", "3", "--trainer.enable_progress_bar", "false"]) == 0
    finally:
        os.chdir(here)
    (checkpoint,) = (folder / "checkpoints").glob("mlp_201-epoch=*.ckpt")
    return checkpoint, common


def _flip_a_weight_byte(source: Path, target: Path) -> Path:
    """The checkpoint with one byte flipped inside a weight tensor's data: it still unpickles."""
    checkpoint = torch.load(source, weights_only=False)
    name = next(n for n in checkpoint["state_dict"] if n.endswith("weight"))
    checkpoint["state_dict"][name].view(-1).view(torch.uint8)[5] ^= 0x40
    torch.save(checkpoint, target)
    return target


@pytest.mark.parametrize("command", ["predict", "test", "fit", "search"])
def test_a_checkpoint_with_flipped_weight_bytes_is_refused(fitted, tmp_path, command, expect, capsys, monkeypatch):
    checkpoint, common = fitted
    damaged = _flip_a_weight_byte(checkpoint, tmp_path / "damaged.ckpt")
    if command == "search":
        args = ["search", "--space", "nb201", "--budget", "400", "--strategy", "RandomSearch", "--predictor", str(damaged)]
    else:
        args = [command, *common, "--data.seed", "3", "--ckpt_path", str(damaged)]
    expect(args, rf"damaged.ckpt: its weights do not match the checksum written with them", capsys, monkeypatch)


def test_predictions_carry_the_checkpoints_split_and_self_training_refuses_a_leak(fitted, tmp_path, expect, capsys, monkeypatch):
    """predict without the fit's --data.seed 3 used to mark the current split's archs as seen (356, 7 really seen),
    and a self-training fit on seed 0 then accepted that teacher."""
    checkpoint, common = fitted
    assert main(["predict", *common, "--ckpt_path", str(checkpoint)]) == 0  # no --data.seed 3
    record = json.loads(Path("predictions/mlp_201.csv.json").read_text())
    assert record["split"]["seed"] == 3 and record["checkpoint"] == str(checkpoint)
    expected = create("nb201").keys  # the fit's labelled archs, redrawn with its seed
    from lightning_nas.datamodules.split import labelled_rows_of
    from lightning_nas.utils.checkpoints import datamodule_settings

    seen = labelled_rows_of(datamodule_settings(checkpoint), create("nb201"))
    lines = Path("predictions/mlp_201.csv").read_text().splitlines()[1:]
    assert sorted(int(line.split(",")[0]) for line in lines if line.endswith(",1")) == sorted(seen.tolist()) and len(expected) == 15_625
    self_train = ["fit", *common, "--trainer.max_epochs", "1", "--data.pseudo_labels", "predictions/mlp_201.csv", "--data.num_pseudo", "50"]
    expect(self_train, r"predictions/mlp_201.csv comes from a predictor fit on other labelled archs than this split's \(seed=3 \(here 0\)\)", capsys, monkeypatch)
    assert main([*self_train, "--data.seed", "3", "--trainer.enable_progress_bar", "false"]) == 0  # its own split: accepted


def test_a_score_table_value_cut_short_is_refused(data_root, tmp_path, expect):
    from lightning_nas.proxies import ScoreTable

    table = ScoreTable(tmp_path / "scores.csv")
    table.write_part({"a": {"synflow": 123.456789}, "b": {"synflow": 98.7}}, {"a": 0, "b": 1}, "x")
    table.merge()
    text = table.path.read_text()
    table.path.write_text(text.replace("123.456789", "123.4"))  # a value truncated mid-number
    expect(lambda: table.load(), r"scores.csv, line 2: damaged \(it fails its check\)")


def test_a_damaged_search_state_is_refused_not_resumed(tmp_path, expect):
    from lightning_nas.search import QueryBudget, RandomSearch, run_search

    run_search(RandomSearch(), QueryBudget(create("nb201"), 20, "cifar10"), output=tmp_path)
    state = bytearray((tmp_path / "state.pkl").read_bytes())
    state[len(state) // 2] ^= 0x01
    (tmp_path / "state.pkl").write_bytes(bytes(state))
    expect(lambda: run_search(RandomSearch(), QueryBudget(create("nb201"), 30, "cifar10"), output=tmp_path), r"search state .*state.pkl (fails its checksum|is unreadable)")


# -- settings ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "match"), [
    (["--data.num_train", "15624"], r"num_train=15624 must be between 1 and 15623 \(of the 15625 archs with 'test_acc', 2 at least are left to test on\)"),
    (["--data.num_val", "1"], r"1 arch to validate on: a rank correlation needs at least 2"),
    (["--data.num_train", "abc"], r"--data.num_train 'abc' is not a value it takes; it takes int or null"),
    (["--data.num_val", "many"], r"--data.num_val 'many' is not a value it takes; it takes int"),
    (["--trainer.max_epochs", "ten"], r"--trainer.max_epochs 'ten' is not a value it takes"),
    (["--model.init_args.hidden", "wide"], r"--model.init_args.hidden 'wide' is not a value it takes"),
    (["--data.extra_features", "params"], r"--data.extra_features 'params' is not a value it takes"),
    (["--data.seed", "1.5"], r"--data.seed '1.5' is not a value it takes; it takes int"),
    (["--data.num_trian", "3"], r"unrecognized arguments: --data.num_trian 3"),
    (["--trainer.accelerator", "7"], r"You selected an invalid accelerator name: `accelerator='7'`"),
])
def test_a_bad_fit_setting_is_one_line(args, match, expect, capsys, monkeypatch):
    expect(["fit", "--config", "mlp_201.yaml", "--trainer.logger", "false", *args], match, capsys, monkeypatch)


def test_a_wrong_type_in_a_config_file_is_one_line(tmp_path, expect, capsys, monkeypatch):
    (tmp_path / "mine.yaml").write_text("data:\n  num_train: a few\ntrainer:\n  max_epochs: 1\n")
    expect(["fit", "--config", "mlp_201.yaml", "--config", str(tmp_path / "mine.yaml"), "--trainer.logger", "false"],
           r"--data.num_train 'a few' is not a value it takes", capsys, monkeypatch)


@pytest.mark.parametrize(("args", "match"), [
    (["--budget", "x"], r"--budget 'x' is not a value it takes; it takes int"),
    (["--seeds", "3"], r"--seeds '3' is not a value it takes"),
    (["--select", "test_accuracy"], r"has no metric 'test_accuracy' for cifar10"),
    (["--constraint", "latency:pixel9<=5"], r"no latency for device setting 'pixel9'; settings: .*pixel3"),
    (["--constraint", "latency:pixel3<5ms"], r"is not <cost><comparison><number>: e\.g\. latency:pixel3<=5"),
    (["--pareto", "speed"], r"unknown cost 'speed'; costs: latency:<setting>, flops, params"),
    (["--pareto", "flops", "--constraint", "flops<=50"], r"give --constraint or --pareto, not both"),
    (["--time_budget", "-1"], r"time budget \(seconds\) must be positive"),
    (["--strategy", "BOHB"], r"BOHB trains archs at two fidelities: give the budget simulated training"),
])
def test_a_bad_search_setting_is_one_line(args, match, expect, capsys, monkeypatch):
    expect(["search", "--config", "search_rea_201.yaml", *args], match, capsys, monkeypatch)


# -- a full disk and the leftovers of killed writers -------------------------------------------------------------------

def test_a_full_disk_while_a_search_writes_its_plot_names_what_was_saved(tmp_path, monkeypatch, expect, capsys):
    import errno

    from matplotlib.figure import Figure

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full)
    text = expect(["search", "--space", "nb201", "--budget", "10", "--strategy", "RandomSearch", "--output", str(tmp_path / "s")],
                  r"cannot write .*trajectory.png: No space left on device; written before it, complete: .*best.json", capsys, monkeypatch)
    assert (tmp_path / "s" / "seed0" / "best.json").is_file() and not (tmp_path / "s" / "trajectory.png").exists() and "state.pkl" in text


def test_a_full_disk_while_a_fit_logs_names_the_checkpoints_saved(monkeypatch, expect, capsys):
    import errno

    from lightning.pytorch.loggers import CSVLogger

    def full(self, metrics, step=None):
        if "test/ktau" in metrics:  # after the fit saved its checkpoints, as W&B's files fill the disk
            raise OSError(errno.ENOSPC, "No space left on device", "logs/metrics.csv")

    monkeypatch.setattr(CSVLogger, "log_metrics", full)
    expect(["fit", "--config", "mlp_201.yaml", "--trainer.max_epochs", "1", "--trainer.logger", "lightning.pytorch.loggers.CSVLogger",
            "--trainer.logger.save_dir", "logs", "--trainer.enable_progress_bar", "false"],
           r"the disk is full writing logs/metrics.csv .*; checkpoints saved: .*mlp_201-epoch=0.ckpt.*Free some space", capsys, monkeypatch)


def test_a_killed_writers_temporary_file_is_cleaned_up_on_the_next_write(tmp_path, bad_inputs):
    from lightning_nas.utils.atomic import atomic_open

    stale = tmp_path / ".table.npz.999999999.tmp"  # a prepare killed mid-write left it (no such process now)
    stale.write_bytes(b"x" * 1000)
    with atomic_open(tmp_path / "table.npz") as f:
        f.write(b"done")
    bad_inputs.append("clear_error" if not stale.exists() else "silent")
    assert not stale.exists() and (tmp_path / "table.npz").read_bytes() == b"done"

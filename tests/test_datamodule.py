import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from lightning_nas.datamodules import ArchDataModule
from lightning_nas.utils.errors import LightningNASError
from lightning_nas.datamodules.predictions import ScoreWriter


@pytest.fixture(scope="module")
def dm101():
    dm = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, extra_features=["params", "flops"], seed=3)
    dm.setup()
    return dm


def test_split_is_renas_protocol(dm101):
    assert len(dm101.split.train_rows) == 424 and len(dm101.split.test_rows) == 423_200
    assert len(np.intersect1d(dm101.split.train_rows, dm101.split.test_rows)) == 0
    assert np.isin(dm101.split.val_rows, dm101.split.test_rows).all() and len(dm101.split.val_rows) == 200
    assert repr(dm101) == "ArchDataModule(space='nb101', metric='test_acc_run0', encoding='renas', num_train=424, seed=3): 424 train / 200 val / 423,200 test archs"
    assert repr(ArchDataModule("nb201", encoding="graph", train_ratio=0.01)).endswith("train_ratio=0.01, seed=0)")


def test_same_seed_same_split_other_seed_other_split(dm101):
    again = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, seed=3)
    again.setup()
    other = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, seed=4)
    other.setup()
    assert np.array_equal(again.split.train_rows, dm101.split.train_rows)
    assert not np.array_equal(other.split.train_rows, dm101.split.train_rows)
    drawn_only = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, extra_features=["params", "flops"], seed=3)
    assert drawn_only.split is None
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader"):
        with pytest.raises(LightningNASError, match=r"is not set up yet: call setup\(\) first"):
            getattr(drawn_only, loader)()  # val/test/predict were an AttributeError: no attribute 'val_rows', ...
    drawn_only.draw()  # what a search needs from a checkpoint: the rows, without encoding the space
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader", "predict_dataloader"):
        with pytest.raises(LightningNASError, match=r"is not set up yet: call setup\(\) first \(a Trainer calls setup\)"):
            getattr(drawn_only, loader)()  # batches need the encoded space, which draw() does not build
    assert drawn_only.features is None
    for rows in ("train_rows", "val_rows", "test_rows"):
        assert np.array_equal(getattr(drawn_only.split, rows), getattr(dm101.split, rows))
    assert torch.equal(drawn_only.extra, dm101.extra) and np.array_equal(drawn_only.split.train_targets, dm101.split.train_targets)


def test_batches_carry_encoding_target_and_extra_features(dm101):
    batch = next(iter(dm101.train_dataloader()))
    assert batch["x"].shape == (64, 19, 7, 7)
    rows = batch["index"].numpy()
    assert np.isin(rows, dm101.split.train_rows).all()
    bench = dm101.benchmark
    assert torch.allclose(batch["y"], torch.from_numpy(bench.column("test_acc_run0")[rows]))
    assert torch.equal(batch["extra"][:, 0], torch.from_numpy(bench.column("params")[rows].astype(np.float32)))
    assert sum(len(b["index"]) for b in dm101.predict_dataloader()) == 423_624


def test_augment_adds_relabelled_copies_of_training_archs_only(dm101):
    dm = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, extra_features=["params", "flops"], seed=3, augment=2)
    dm.setup()
    assert np.array_equal(dm.split.train_rows, dm101.split.train_rows) and np.array_equal(dm.split.test_rows, dm101.split.test_rows)
    batches = list(dm.train_dataloader())
    rows = torch.cat([b["index"] for b in batches]).numpy()
    assert len(rows) == 3 * 424 and np.array_equal(np.bincount(rows, minlength=len(dm.split.targets))[dm.split.train_rows], np.full(424, 3))
    x = torch.cat([b["x"] for b in batches])
    for b in batches:  # labels and extra features follow the copy's source arch
        assert torch.equal(b["y"], torch.from_numpy(dm.split.targets)[b["index"]]) and torch.equal(b["extra"], dm.extra[b["index"]])
    same = [torch.equal(x[k], dm.features[r]) for k, r in enumerate(rows)]
    assert sum(same) >= 424 and not all(same)  # the original layouts, plus copies in other vertex orders
    assert sum(len(b["index"]) for b in dm.test_dataloader()) == len(dm.split.test_rows)
    for encoding in ("graph", "path"):
        with pytest.raises(ValueError, match=rf"the '{encoding}' encoding is invariant; .* \['onehot', 'renas'\]"):
            ArchDataModule("nb101", metric="test_acc_run0", encoding=encoding, num_train=424, augment=1)  # before any data is read
    with pytest.raises(ValueError, match="augment"):
        ArchDataModule("nb101", num_train=10, augment=-1)


def test_target_restricts_to_archs_that_have_it():
    dm = ArchDataModule("nb101", metric="val_acc_single_run", num_train=100)
    dm.setup()
    assert len(dm.split.train_rows) + len(dm.split.test_rows) == 30_001


def test_train_metrics_train_on_the_mean_of_two_runs_and_test_on_the_metric():
    runs = ["test_acc_run0", "val_acc_single_run"]
    dm = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, seed=3, train_metrics=runs)
    dm.setup()
    bench = dm.benchmark
    two = np.stack([bench.column(m) for m in runs])
    assert not np.isnan(two[:, dm.split.train_rows]).any()  # drawn only from cells with both runs
    assert len(dm.split.test_rows) == 423_200 and not np.isin(dm.split.train_rows, dm.split.test_rows).any()
    assert np.isnan(two[1, dm.split.test_rows]).mean() > 0.9  # the test set is the rest of the whole space
    batches = list(dm.train_dataloader())
    rows, y = torch.cat([b["index"] for b in batches]), torch.cat([b["y"] for b in batches])
    assert torch.allclose(y, torch.from_numpy(two[:, rows.numpy()].mean(0)))
    assert not torch.allclose(y, torch.from_numpy(dm.split.targets)[rows])  # not the single run
    test = next(iter(dm.test_dataloader()))
    assert torch.equal(test["y"], torch.from_numpy(dm.split.targets)[test["index"]])
    with pytest.raises(ValueError, match="exceeds the 30001 archs that have every train_metrics column"):
        ArchDataModule("nb101", metric="test_acc_run0", num_train=40_000, train_metrics=runs).setup()


def test_nb201_graph_batches_and_ratio():
    dm = ArchDataModule("nb201", dataset="cifar10", encoding="graph", train_ratio=0.01, batch_size=16)
    dm.setup()
    assert len(dm.split.train_rows) == 156 and len(dm.split.test_rows) == 15_625 - 156
    batch = next(iter(dm.test_dataloader()))
    assert isinstance(batch["x"], Batch) and batch["x"].num_graphs == len(batch["y"])


def test_a_validation_set_larger_than_what_training_leaves_is_named(caplog):
    dm = ArchDataModule("nb201", dataset="cifar10", num_train=15_500, num_val=200)
    dm.draw()
    assert len(dm.split.val_rows) == 125 and np.array_equal(dm.split.val_rows, dm.split.test_rows)
    assert "num_val=200, but only 125 archs are left after the 15500 training archs: validating on all of them" in caplog.text


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="exactly one of num_train"):
        ArchDataModule("nb201")
    with pytest.raises(ValueError, match="train_ratio"):
        ArchDataModule("nb201", train_ratio=2.0)
    dm = ArchDataModule("nb201", dataset="cifar10", num_train=20_000)
    with pytest.raises(ValueError, match="num_train=20000"):
        dm.setup()
    with pytest.raises(ValueError, match="'naswot' is a zero-cost proxy: give data.proxy_table"):
        ArchDataModule("nb201", dataset="cifar10", num_train=20, extra_features=["naswot"]).setup()
    for setting, message in [
        ({"num_val": -3}, "num_val must be at least 0, got -3"),  # would have sliced the test set into validation
        ({"batch_size": 0}, "batch_size must be at least 1"),
        ({"eval_batch_size": 0}, "eval_batch_size must be at least 1"),
        ({"num_workers": -1}, "num_workers must be at least 0"),
        ({"extra_features": ["params", "flops", "params"]}, "'params' more than once"),
        ({"num_train": 2.5}, "num_train must be an integer, got 2.5"),  # was: a TypeError from slicing
        ({"batch_size": True}, "batch_size must be an integer, got True"),
        ({"seed": -1}, "seed must be at least 0, got -1"),  # was: numpy's "expected non-negative integer" in setup
        ({"encoding": "renass"}, r"unknown encoding 'renass'; choose one of \['graph', 'onehot', 'path', 'renas'\]"),  # was: only in setup
    ]:
        with pytest.raises(ValueError, match=message):
            ArchDataModule("nb201", dataset="cifar10", **{"num_train": 20, **setting})
    with pytest.raises(ValueError, match="unknown search space 'nb210'"):
        ArchDataModule("nb210", num_train=20)
    with pytest.raises(ValueError, match="encoding 'renas' is not defined for space 'nats_sss'; it has \\['onehot'\\]"):
        ArchDataModule("nats_sss", encoding="renas", num_train=20)
    with pytest.raises(ValueError, match="'nb201' has a fixed vertex layout"):
        ArchDataModule("nb201", dataset="cifar10", num_train=20, augment=2).setup()


def _score_file(dm: ArchDataModule, path, scores: np.ndarray) -> None:
    """What `predict` writes for a predictor fit on ``dm``'s split."""
    predictions = [{"index": torch.arange(len(scores)), "score": torch.from_numpy(scores)}]
    ScoreWriter(str(path)).write_on_epoch_end(SimpleNamespace(datamodule=dm, world_size=1), None, predictions, None)


def test_pseudo_labels_join_training_ranked_as_the_teacher_scored_and_leave_the_test_set(tmp_path):
    args = dict(space="nb201", dataset="cifar10", encoding="graph", num_train=156, batch_size=4096, seed=1)
    teacher = ArchDataModule(**args)
    teacher.setup()
    true = teacher.split.targets
    scores = np.random.default_rng(0).permutation(len(true)).astype(np.float64)  # a teacher's ranking (distinct scores)
    _score_file(teacher, tmp_path / "scores.csv", scores)
    dm = ArchDataModule(**args, pseudo_labels=str(tmp_path / "scores.csv"), num_pseudo=500)
    dm.setup()
    pseudo = dm.split.pseudo_rows
    assert len(pseudo) == 500 and np.array_equal(dm.split.train_rows, teacher.split.train_rows)
    assert not np.isin(pseudo, np.concatenate([dm.split.train_rows, dm.split.val_rows])).any()
    assert len(dm.split.test_rows) == 15_625 - 156 - 500 and not np.isin(pseudo, dm.split.test_rows).any()
    (batch,) = list(dm.train_dataloader())
    rows, y = batch["index"].numpy(), batch["y"].numpy()
    labelled = np.isin(rows, dm.split.train_rows)
    assert labelled.sum() == 156 and np.allclose(y[labelled], true[rows[labelled]])
    # pseudo-labels follow the teacher's order, on the scale of the training labels
    by_score = y[~labelled][np.argsort(scores[rows[~labelled]])]
    assert (np.diff(by_score) >= 0).all() and by_score[-1] > by_score[0]
    assert true[dm.split.train_rows].min() <= y[~labelled].min() and y[~labelled].max() <= true[dm.split.train_rows].max()
    test = next(iter(dm.test_dataloader()))
    assert np.allclose(test["y"].numpy(), true[test["index"].numpy()])  # testing sees the real labels


def test_pseudo_labels_from_another_split_or_a_bad_file_are_refused(tmp_path):
    args = dict(space="nb201", dataset="cifar10", encoding="graph", num_train=156)
    other = ArchDataModule(**args, seed=2)
    other.setup()
    _score_file(other, tmp_path / "other.csv", np.zeros(15_625))
    record = json.loads((tmp_path / "other.csv.json").read_text())
    assert record["split"]["seed"] == 2 and record["labelled"] == 156 + 200  # the split the scores' predictor was fit on
    with pytest.raises(LightningNASError, match=r"fit on other labelled archs than this split's \(seed=2 \(here 1\)\)"):
        ArchDataModule(**args, seed=1, pseudo_labels=str(tmp_path / "other.csv"), num_pseudo=10).setup()
    lines = (tmp_path / "other.csv").read_text().splitlines(keepends=True)
    (tmp_path / "cut.csv").write_text("".join(lines[:100]))  # cut short, beside the whole file's record
    (tmp_path / "cut.csv.json").write_text((tmp_path / "other.csv.json").read_text())
    with pytest.raises(LightningNASError, match="cut.csv does not match the checksum written with it"):
        ArchDataModule(**args, seed=2, pseudo_labels=str(tmp_path / "cut.csv"), num_pseudo=10).setup()
    (tmp_path / "old.csv").write_text("row,key,score\n0,a,1.0\n")
    with pytest.raises(LightningNASError, match="not a score file"):
        ArchDataModule(**args, seed=2, pseudo_labels=str(tmp_path / "old.csv"), num_pseudo=10).setup()
    (tmp_path / "hand.csv").write_text("".join(lines))  # the same scores, but no record of the split they come from
    with pytest.raises(LightningNASError, match="hand.csv has no record hand.csv.json of the split its predictor was fit on"):
        ArchDataModule(**args, seed=2, pseudo_labels=str(tmp_path / "hand.csv"), num_pseudo=10).setup()
    diverged = np.zeros(15_625)
    diverged[1] = np.nan
    _score_file(other, tmp_path / "nan.csv", diverged)
    with pytest.raises(LightningNASError, match=r"NaN or infinite on lines \[3\]"):
        ArchDataModule(**args, seed=2, pseudo_labels=str(tmp_path / "nan.csv"), num_pseudo=10).setup()
    with pytest.raises(LightningNASError, match="cannot read score file"):
        ArchDataModule(**args, seed=2, pseudo_labels=str(tmp_path / "missing.csv"), num_pseudo=10).setup()
    with pytest.raises(ValueError, match="go together"):
        ArchDataModule(**args, pseudo_labels=str(tmp_path / "other.csv"))

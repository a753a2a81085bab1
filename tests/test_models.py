import subprocess
import sys

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from scipy.stats import kendalltau, spearmanr
from torchmetrics import KendallRankCorrCoef, SpearmanCorrCoef

from lightning_nas.models.curves import TrainingCurves
from lightning_nas.datamodules import ArchDataModule
from lightning_nas.utils import heap
from lightning_nas.utils.errors import OutputError
from lightning_nas.models import GNNPredictor, MLPPredictor, MSELoss, PairwiseLogisticLoss, ReNASLoss, ReNASPredictor
from lightning_nas.models.metrics import KendallTau, TopKPrecision
from lightning_nas.search import predict_archs
from lightning_nas.viz import predicted_vs_true, search_trajectories, training_curves


@pytest.mark.parametrize("loss", [ReNASLoss(), PairwiseLogisticLoss(), MSELoss()])
def test_ordered_scores_cost_less_than_reversed(loss):
    targets = torch.tensor([91.0, 85.0, 93.5, 70.0, 88.0, 90.2])
    ordered = (targets - targets.mean()) / targets.std()
    assert loss(ordered, targets) < loss(-ordered, targets)
    assert loss(ordered, targets) < loss(torch.zeros(6), targets) or isinstance(loss, MSELoss)


def test_pairwise_losses_ignore_ties_and_have_gradients():
    scores = torch.tensor([0.3, -0.2, 0.9], requires_grad=True)
    loss = PairwiseLogisticLoss()(scores, torch.tensor([1.0, 1.0, 2.0]))
    loss.backward()
    # the tied pair (0, 1) contributes nothing; of the 2 remaining pairs, (0, 2) pushes s0 down
    assert scores.grad[0] == pytest.approx(float(torch.sigmoid(torch.tensor(-0.6))) / 2, rel=1e-5)
    assert ReNASLoss()(torch.zeros(3), torch.ones(3)) == 0


def test_kendall_and_spearman_match_scipy_and_torchmetrics():
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    p = y + rng.normal(scale=0.8, size=300)
    p[:20] = p[0]  # ties in the predictions
    ours = KendallTau()
    ours.update(torch.tensor(p[:150]), torch.tensor(y[:150]))
    ours.update(torch.tensor(p[150:]), torch.tensor(y[150:]))
    reference = KendallRankCorrCoef()(torch.tensor(p), torch.tensor(y))
    assert ours.compute().item() == pytest.approx(kendalltau(p, y).statistic, abs=1e-6)
    assert ours.compute().item() == pytest.approx(reference.item(), abs=1e-5)
    sp = SpearmanCorrCoef()(torch.tensor(p, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
    assert sp.item() == pytest.approx(spearmanr(p, y).statistic, abs=1e-4)


def test_top_k_precision_known_case():
    metric = TopKPrecision(fraction=0.2)  # top 2 of 10
    target = torch.arange(10.0)
    metric.update(torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 99, -5.0]), target)
    assert metric.compute().item() == 0.5  # predicted top-2 = {8, 7}; true top-2 = {9, 8}


def _fit(model, dm, steps=20):
    trainer = L.Trainer(max_steps=steps, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=1, check_val_every_n_epoch=1)
    trainer.fit(model, dm)
    return trainer


def test_fit_a_few_steps_on_real_data_and_reload_in_a_new_process(tmp_path):
    L.seed_everything(0)
    dm = ArchDataModule("nb201", dataset="cifar10", encoding="graph", num_train=156, extra_features=["params"], batch_size=32)
    model = GNNPredictor.for_datamodule(dm, ensemble_size=2, loss=PairwiseLogisticLoss(), readout="sum+output")
    trainer = _fit(model, dm, steps=40)
    (metrics,) = trainer.test(model, dm, verbose=False)
    assert metrics["test/ktau"] > 0.3  # 40 steps from 156 archs already rank far above chance

    ckpt = tmp_path / "gnn.ckpt"
    trainer.save_checkpoint(ckpt)
    archs = [dm.benchmark.keys[i] for i in (0, 1, 6111, 42)]
    extra = dm.extra[[0, 1, 6111, 42]]
    expected = predict_archs(model, dm.benchmark.space, archs, extra)
    np.save(tmp_path / "extra.npy", extra.numpy())
    code = (
        "import sys, numpy as np, torch; from lightning_nas.models import GNNPredictor; from lightning_nas.search import predict_archs;"
        "from lightning_nas.spaces import get_space;"
        f"m = GNNPredictor.load_from_checkpoint({str(ckpt)!r});"
        f"print(repr(predict_archs(m, get_space('nb201'), {archs!r}, np.load({str(tmp_path / 'extra.npy')!r})).tolist()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(out.strip().splitlines()[-1]) == expected.tolist()


@pytest.mark.parametrize("filters", ["square", "square+cross"])
def test_renas_predictor_trains_on_nb101(filters, tmp_path):
    L.seed_everything(0)
    dm = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, num_val=100, batch_size=64, eval_batch_size=512)
    model = ReNASPredictor.for_datamodule(dm, filters=filters)
    trainer = _fit(model, dm, steps=30)
    assert np.isfinite(trainer.callback_metrics["val/ktau"].item())
    archs = [dm.benchmark.arch(0), dm.benchmark.arch(1)]
    scores = predict_archs(model, dm.benchmark.space, archs)
    assert scores.shape == (2,) and np.isfinite(scores).all()
    trainer.save_checkpoint(tmp_path / "renas.ckpt")
    assert np.array_equal(predict_archs(ReNASPredictor.load_from_checkpoint(tmp_path / "renas.ckpt"), dm.benchmark.space, archs), scores)


@pytest.mark.parametrize("encoding", ["onehot", "path"])
def test_mlp_predictor_trains_on_flat_encodings(tmp_path, encoding):
    L.seed_everything(0)
    dm = ArchDataModule("nb201", dataset="cifar10", encoding=encoding, num_train=156, extra_features=["params"], batch_size=32)
    model = MLPPredictor.for_datamodule(dm, ensemble_size=2, loss=PairwiseLogisticLoss())
    trainer = _fit(model, dm, steps=40)
    (metrics,) = trainer.test(model, dm, verbose=False)
    assert metrics["test/ktau"] > 0.3  # far above chance after 40 steps
    trainer.save_checkpoint(tmp_path / "mlp.ckpt")
    archs, extra = [dm.benchmark.keys[i] for i in (0, 6111)], dm.extra[[0, 6111]]
    reloaded = MLPPredictor.load_from_checkpoint(tmp_path / "mlp.ckpt")
    assert np.array_equal(predict_archs(reloaded, dm.benchmark.space, archs, extra), predict_archs(model, dm.benchmark.space, archs, extra))


def test_mlp_predictor_refuses_encodings_it_cannot_read(make_predictor):
    with pytest.raises(ValueError, match=r"reads one of the encodings \['onehot', 'path'\], got 'graph'"):
        make_predictor(MLPPredictor, "nb201", encoding="graph")
    with pytest.raises(ValueError, match="encoding 'path' is not defined for space 'nats_sss'; it has \\['onehot'\\]"):
        make_predictor(MLPPredictor, "nats_sss", encoding="path")
    with pytest.raises(ValueError, match="MLPPredictor needs input_shape"):  # from Python, without the CLI's link
        MLPPredictor(space="nb201")


def test_cell_stats_group_reaches_the_head_and_a_search_scorer(tmp_path):
    """``cell_stats`` widens the head by its 54 columns; a checkpoint scored through a search's
    PredictorScorer (which reads the features itself) gives the datamodule's scores."""
    from lightning_nas.search import PredictorScorer

    L.seed_everything(0)
    features = ["params", "flops", "cell_stats"]
    dm = ArchDataModule("nb101", metric="test_acc_run0", num_train=424, num_val=100, extra_features=features, eval_batch_size=512)
    model = ReNASPredictor.for_datamodule(dm)
    trainer = _fit(model, dm, steps=10)
    assert model.num_extra == dm.extra.shape[1] == 56 and torch.isfinite(model.extra_mean).all()
    trainer.save_checkpoint(tmp_path / "stats.ckpt")
    reloaded = ReNASPredictor.load_from_checkpoint(tmp_path / "stats.ckpt").eval()
    rows = [3, 7, 100_000]
    expected = reloaded(dm.collate(rows))
    scorer = PredictorScorer(reloaded, dm.benchmark)
    assert np.allclose(scorer([dm.benchmark.arch(r) for r in rows]), expected.detach().numpy(), atol=1e-6)


def test_cross_filters_join_edges_that_share_a_vertex(make_predictor):
    """Adding edge 0 -> 1 changes the first layer's output at entry (0, 3), another edge slot of
    vertex 0, with cross filters (they read all of row 0); a 3x3 filter at (0, 3) only reads
    entries (0..1, 2..4)."""
    torch.manual_seed(0)
    x = torch.zeros(1, 19, 7, 7)
    x[0, :, 0, 6] = 1.0
    added = x.clone()
    added[0, :, 0, 1] = 1.0
    for filters, joins in [("square", False), ("cross", True), ("square+cross", True)]:
        conv = make_predictor(ReNASPredictor, "nb101", filters=filters).members[0].features[1]  # after the input BatchNorm
        changed = (conv(added) - conv(x))[0, :, 0, 3].abs().max() > 0
        assert bool(changed) == joins, filters
    with pytest.raises(ValueError, match="filters must be"):
        make_predictor(ReNASPredictor, "nb101", filters="round")


def test_predictor_refuses_a_mismatched_encoding(make_predictor):
    with pytest.raises(ValueError, match="needs the 'graph' encoding"):
        make_predictor(GNNPredictor, "nb201", encoding="renas")
    with pytest.raises(ValueError, match="readout must be"):
        make_predictor(GNNPredictor, "nb201", readout="mean")


@pytest.mark.parametrize(
    ("model", "message"),
    [  # from Python nothing links the two (the CLI does): before, a shape error inside torch / PyG, or extra features silently unused
        ((GNNPredictor, "nb201", None), r"GNNPredictor was built for extra_features None \(the datamodule: \['params'\]\)"),
        ((GNNPredictor, "nb101", ["params"]), r"built for space 'nb101' \(the datamodule: 'nb201'\)"),
        ((ReNASPredictor, "nb201", ["params"]), r"ReNASPredictor was built for encoding 'renas' \(the datamodule: 'graph'\)"),
    ],
)
def test_a_model_built_for_other_inputs_than_the_datamodule_feeds_is_refused(model, message, make_predictor):
    cls, space, extra_features = model
    model = make_predictor(cls, space, extra_features=extra_features)
    dm = ArchDataModule("nb201", encoding="graph", dataset="cifar10", metric="test_acc", num_train=20, num_val=5, extra_features=["params"])
    trainer = L.Trainer(max_steps=1, logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    with pytest.raises(ValueError, match=message):
        trainer.fit(model, dm)


@pytest.mark.parametrize(
    ("loss", "data", "message"),
    [  # before: a fit that learned nothing (no pair in a batch of one) or, with MSE, NaN losses, without a word
        (PairwiseLogisticLoss(), {"batch_size": 1}, r"batch_size 1: PairwiseLogisticLoss needs at least 2 archs in a batch"),
        (MSELoss(), {"batch_size": 1}, r"batch_size 1: MSELoss needs at least 2"),
        (ReNASLoss(), {"num_train": 1}, r"1 training arch: ReNASLoss needs at least 2 to learn from"),
    ],
)
def test_a_fit_whose_batches_hold_one_arch_is_refused(loss, data, message, make_predictor):
    dm = ArchDataModule("nb201", encoding="onehot", dataset="cifar10", metric="test_acc", **{"num_train": 20, **data})
    trainer = L.Trainer(max_steps=1, logger=False, enable_progress_bar=False, enable_model_summary=False, enable_checkpointing=False)
    with pytest.raises(ValueError, match=message):
        trainer.fit(make_predictor(MLPPredictor, "nb201", loss=loss), dm)
    assert trainer.global_step == 0


@pytest.mark.parametrize(
    ("model", "setting", "message"),
    [
        (GNNPredictor, {"hidden": 0}, "hidden must be at least 1"),
        (GNNPredictor, {"dropout": 1.5}, r"dropout must be in \[0, 1\)"),
        (GNNPredictor, {"num_layers": -1}, "num_layers must be at least 0"),
        (MLPPredictor, {"num_layers": 0}, "num_layers must be at least 1"),
        (MLPPredictor, {"hidden": 64.5}, "hidden must be an integer, got 64.5"),  # was: a TypeError inside nn.Linear
        (ReNASPredictor, {"channels": [32, 0]}, "each of channels must be at least 1"),
        (ReNASPredictor, {"lr": -1e-3}, "lr must be positive"),
        (ReNASPredictor, {"weight_decay": -1.0}, "weight_decay must be at least 0"),
    ],
)
def test_bad_model_settings_are_refused_when_built(model, setting, message, make_predictor):
    with pytest.raises(ValueError, match=message):
        make_predictor(model, "nb201", **setting)


def test_scoring_archs_checks_the_extra_features_against_the_predictor(make_predictor, nb201):
    archs = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    with_params = make_predictor(GNNPredictor, "nb201", extra_features=["params"])
    assert predict_archs(with_params, nb201.space, archs, np.ones((2, 1))).shape == (2,)
    with pytest.raises(ValueError, match=r"reads 1 extra feature columns \(\['params'\]\), got extra of shape \[2, 2\]"):
        predict_archs(with_params, nb201.space, archs, np.ones((2, 2)))
    with pytest.raises(ValueError, match="extra has 1 rows for 2 archs"):
        predict_archs(with_params, nb201.space, archs, np.ones((1, 1)))
    with pytest.raises(ValueError, match="trained without extra features"):
        predict_archs(make_predictor(GNNPredictor, "nb201"), nb201.space, archs, np.ones((2, 1)))


def test_node_relations_give_directed_shortest_path_lengths():
    from lightning_nas.models.gnn import MAX_NODES, NUM_RELATIONS, node_relations

    adjacency = torch.zeros(1, 4, 4, dtype=torch.long)  # 0 -> 1 -> 2, 0 -> 2; node 3 isolated
    adjacency[0, 0, 1] = adjacency[0, 1, 2] = adjacency[0, 0, 2] = 1
    relation = node_relations(adjacency)[0]
    assert relation.diagonal().tolist() == [0, 0, 0, 0]
    assert relation[0, 2] == 1 and relation[0, 1] == 1 and relation[1, 2] == 1  # the shortest path counts
    assert relation[2, 0] == MAX_NODES and relation[1, 0] == MAX_NODES  # one edge, against the direction
    assert relation[0, 3] == relation[3, 0] == NUM_RELATIONS - 1
    chain = torch.diag_embed(torch.ones(1, 6, dtype=torch.long), offset=1)  # 0 -> 1 -> ... -> 6
    assert node_relations(chain)[0, 0, 6] == 6 and node_relations(chain)[0, 6, 0] == MAX_NODES - 1 + 6


def test_gnn_ensemble_mixes_member_kinds(tmp_path, make_predictor):
    from torch_geometric.nn import GATv2Conv, GINConv, PNAConv

    L.seed_everything(0)
    dm = ArchDataModule("nb101", metric="test_acc_run0", encoding="graph", num_train=424, num_val=100, extra_features=["params"], eval_batch_size=512)
    kinds = ["gin", "gin+attention", "gat", "pna"]
    model = GNNPredictor.for_datamodule(dm, ensemble_size=5, member_kinds=kinds, num_layers=2, hidden=32)
    convs = [type(m.forward_convs[0]) for m in model.members]
    assert convs == [GINConv, GINConv, GATv2Conv, PNAConv, GINConv]  # kinds cycle over the members
    assert [len(m.attentions) for m in model.members] == [0, 2, 0, 0, 0]
    trainer = _fit(model, dm, steps=10)
    assert np.isfinite(trainer.callback_metrics["val/ktau"].item())
    ckpt = tmp_path / "gnn.ckpt"
    trainer.save_checkpoint(ckpt)
    archs = [dm.benchmark.arch(i) for i in (0, 5, 4000)]
    extra = dm.extra[[0, 5, 4000]]
    reloaded = GNNPredictor.load_from_checkpoint(ckpt)
    assert reloaded.hparams.member_kinds == kinds
    space = dm.benchmark.space
    assert np.array_equal(predict_archs(reloaded, space, archs, extra), predict_archs(model, space, archs, extra))
    with pytest.raises(ValueError, match=r"reads the extra features \['params'\]: pass them as extra \[len\(archs\), 1\].*PredictorScorer"):
        predict_archs(reloaded, space, archs)
    assert isinstance(make_predictor(GNNPredictor, "nb101").members[0].forward_convs[0], GINConv)  # the default kind
    with pytest.raises(ValueError, match="member kind must be one of gin, gat, pna.*'gcn'"):
        make_predictor(GNNPredictor, "nb101", member_kinds=["gin", "gcn"])
    with pytest.raises(ValueError, match="divisor"):
        make_predictor(GNNPredictor, "nb101", member_kinds=["gin+attention"], hidden=30, attention_heads=4)


def test_a_plot_whose_folder_cannot_be_made_is_an_output_error(tmp_path):
    (tmp_path / "afile").write_text("")  # was: pathlib's FileExistsError, after a whole fit's test
    with pytest.raises(OutputError, match=r"cannot write .*afile/run/p\.png: a file stands where a folder should be"):
        predicted_vs_true(np.arange(5.0), np.arange(5.0), tmp_path / "afile" / "run" / "p.png")
    with pytest.raises(OutputError, match=r"cannot write .*afile/t\.png: a file stands where a folder should be"):
        search_trajectories({"random": np.ones((2, 3))}, tmp_path / "afile" / "t.png")
    with pytest.raises(OutputError, match=r"cannot write .*afile/c\.png: a file stands where a folder should be"):
        training_curves({"train/loss": [(1, 0.5)]}, tmp_path / "afile" / "c.png")


def _curves_of(trainer: L.Trainer) -> TrainingCurves:
    (curves,) = [c for c in trainer.callbacks if isinstance(c, TrainingCurves)]  # attached by the predictor itself
    return curves


def test_training_curves_follow_each_epoch_and_a_resumed_fit(tmp_path, make_predictor):
    """The loss curve is the mean of the steps' own losses (Lightning hands callbacks the loss divided
    by accumulate_grad_batches), validation points sit at the epochs validated (not the sanity
    check's), and a fit resumed from a checkpoint draws the whole run."""
    L.seed_everything(0)
    dm = ArchDataModule("nb201", dataset="cifar10", encoding="onehot", num_train=100, num_val=50, batch_size=16)  # 7 batches
    losses: list[float] = []

    def fit(epochs, ckpt_path=None):
        model = make_predictor(MLPPredictor, "nb201", loss=PairwiseLogisticLoss())
        step = model.training_step

        def recorded(batch, batch_idx):
            loss = step(batch, batch_idx)
            losses.append(loss.item())
            return loss

        model.training_step = recorded
        trainer = L.Trainer(max_epochs=epochs, accumulate_grad_batches=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                            callbacks=[ModelCheckpoint(dirpath=tmp_path, filename="{epoch}", save_top_k=-1)])
        trainer.fit(model, dm, ckpt_path=ckpt_path)
        return _curves_of(trainer).history, trainer

    history, trainer = fit(2)
    assert [epoch for epoch, _ in history["train/loss"]] == [1, 2]
    assert [loss for _, loss in history["train/loss"]] == pytest.approx([np.mean(losses[:7]), np.mean(losses[7:14])])
    assert {"val/ktau", "val/spearman", "val/top1pct_precision"} <= set(history)
    assert [epoch for epoch, _ in history["val/ktau"]] == [1, 2]
    assert history["val/ktau"][-1][1] == pytest.approx(trainer.callback_metrics["val/ktau"].item())
    (plot,) = (tmp_path / "runs" / "MLPPredictor").glob("*/training_curves.png")
    assert plot.stat().st_size > 10_000
    trainer.test(trainer.lightning_module, dm, verbose=False)  # on the fit's trainer, as fit's own test runs
    assert [type(c) for c in trainer.callbacks].count(heap.HeapTrim) == 1  # attached by the predictor, once

    resumed, _ = fit(3, ckpt_path=tmp_path / "epoch=1.ckpt")
    assert [epoch for epoch, _ in resumed["train/loss"]] == [1, 2, 3] and resumed["train/loss"][:2] == history["train/loss"]
    assert resumed["train/loss"][2][1] == pytest.approx(np.mean(losses[14:21]))
    assert [epoch for epoch, _ in resumed["val/ktau"]] == [1, 2, 3]


def test_signed_log_leaves_its_input_alone():
    """It is built in place on a new tensor (the whole space's extra features pass through it)."""
    from lightning_nas.models.base import signed_log

    x = torch.tensor([0.0, 1.5, -2.0, 1e30, -float("inf"), float("nan")], dtype=torch.float64)
    before = x.clone()
    y = signed_log(x)
    assert torch.equal(x.nan_to_num(), before.nan_to_num()) and x.isnan()[-1]
    expected = torch.sign(before) * torch.log1p(before.abs())
    assert torch.allclose(y, expected, equal_nan=True, rtol=0, atol=0)


GLIBC = sys.platform.startswith("linux") and heap._malloc_trim() is not None


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_a_trainers_own_curves_and_heap_trim_are_kept(make_predictor):
    """Subclasses count: the predictor adds neither callback beside a trainer's own kind of it."""

    class Curves(TrainingCurves):
        pass

    class Trim(heap.HeapTrim):
        pass

    model = make_predictor(MLPPredictor, "nb201")
    model.trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[Trim(slack=1)])
    assert [type(c) for c in model.configure_callbacks()] == [TrainingCurves]
    model.trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[Curves(), Trim()])
    assert model.configure_callbacks() == []


def test_trim_heap_returns_free_pages_that_a_live_block_pins():
    """120 MiB of 64 KiB blocks freed between blocks that stay: glibc keeps the holes (it trims only
    the heap's end) until malloc_trim returns them."""
    blocks = [np.ones(8192) for _ in range(2048)]
    kept = blocks[15::16]
    del blocks
    before = heap.resident_bytes()
    heap.trim_heap()
    assert before - heap.resident_bytes() > 80 * 2**20
    assert sum(block.sum() for block in kept) == 128 * 8192


def test_heap_trim_trims_only_once_the_process_has_grown_by_its_slack(monkeypatch):
    resident, trims = [1000], []

    def trim() -> None:
        trims.append(resident[0])
        resident[0] = 1100  # what the trim returned

    monkeypatch.setattr(heap, "resident_bytes", lambda: resident[0])
    monkeypatch.setattr(heap, "trim_heap", trim)
    monkeypatch.setattr(heap, "_malloc_trim", lambda: trim)  # glibc is there
    callback = heap.HeapTrim(slack=500)
    callback.start()
    for rss in (1200, 1500, 1400):
        resident[0] = rss
        callback.check()
    assert trims == []
    resident[0] = 1501
    callback.check()  # grown by more than the slack: trims, and grows from what is left
    assert trims == [1501] and callback.floor == 1100
    resident[0] = 1550
    callback.check()
    assert trims == [1501]
    monkeypatch.setattr(heap, "_malloc_trim", lambda: None)  # no glibc: never reads or trims
    callback.start()
    resident[0] = 10**9
    callback.check()
    assert trims == [1501]


class _KilledAfter(L.Callback):
    """Stops a fit as a kill would, when the given epoch starts (after the previous one's checkpoint)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise RuntimeError("killed")


def test_a_resumed_fit_is_the_same_run_as_an_uninterrupted_one(tmp_path, make_predictor):
    """Killed after its second epoch and resumed from that epoch's checkpoint, a fit ends with the same weights and
    metrics, bit for bit, as one that was never stopped: the training order and every random generator (dropout)
    go on from where they were (the order used to start again from epoch 0's)."""

    def fit(folder: str, ckpt_path=None, killed_at=None):
        L.seed_everything(0)
        dm = ArchDataModule("nb201", dataset="cifar10", encoding="onehot", num_train=100, num_val=30, batch_size=16, seed=1)
        model = make_predictor(MLPPredictor, "nb201", loss=PairwiseLogisticLoss(), dropout=0.3, ensemble_size=2)
        last = ModelCheckpoint(dirpath=tmp_path / folder, filename="last-{epoch}", save_top_k=-1, save_on_train_epoch_end=True)
        callbacks = [last] + ([_KilledAfter(killed_at)] if killed_at is not None else [])
        trainer = L.Trainer(max_epochs=5, logger=False, enable_progress_bar=False, enable_model_summary=False, deterministic=True,
                            callbacks=callbacks, default_root_dir=tmp_path / folder)
        trainer.fit(model, dm, ckpt_path=ckpt_path)
        return trainer, model, dm

    trainer, whole, dm = fit("whole")
    (expected,) = trainer.test(whole, dm, verbose=False)
    with pytest.raises(RuntimeError, match="killed"):
        fit("killed", killed_at=2)
    assert sorted(p.name for p in (tmp_path / "killed").glob("*.ckpt")) == ["last-epoch=0.ckpt", "last-epoch=1.ckpt"]
    trainer, resumed, dm = fit("resumed", ckpt_path=tmp_path / "killed" / "last-epoch=1.ckpt")
    (metrics,) = trainer.test(resumed, dm, verbose=False)
    for name, tensor in whole.state_dict().items():
        assert torch.equal(tensor, resumed.state_dict()[name]), name
    assert metrics == expected

"""The package on a CUDA GPU: predictors fit, test, predict and search there, zero-cost proxies
score there, and each gives what the CPU gives, so a checkpoint or a score table made on a GPU
serves on a laptop. CI has no GPU, so these tests run only where torch sees one."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from lightning_nas.benchmarks import create
from lightning_nas.datamodules import ArchDataModule
from lightning_nas.models import GNNPredictor, MLPPredictor, PairwiseLogisticLoss, ReNASPredictor
from lightning_nas.proxies import PROXIES, ProxyEvaluator, ScoreTable
from lightning_nas.proxies.scoring import ProxyScoringModule, score_archs
from lightning_nas.search import PredictorScorer, load_predictor, predict_archs

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA device: these tests check the GPU paths")

#: NB101 proxies (TE-NAS's small networks exist for NB201 cells only)
NB101_PROXIES = ["naswot", "jacov", "synflow", "snip", "grad_norm", "fisher", "rbflex", "params", "flops"]
#: a linear-region count can move when an activation within float rounding of 0 changes sign
RELATIVE = {"tenas_lr": 1e-2}


def _assert_scores_agree(gpu: dict[str, float], cpu: dict[str, float], what: str) -> None:
    assert gpu.keys() == cpu.keys()
    for name, value in cpu.items():
        assert gpu[name] == pytest.approx(value, rel=RELATIVE.get(name, 1e-3)), f"{name} of {what}: GPU {gpu[name]}, CPU {value}"


# NB201 row 0 (average pooling on the input edge): cuDNN's float32 gradients put fisher 90 % off
@pytest.mark.parametrize(("space", "proxies", "rows"), [("nb201", sorted(PROXIES), [0, 42, 6111]), ("nb101", NB101_PROXIES, [0, 200_000])])
def test_proxies_score_on_the_gpu_as_on_the_cpu(space, proxies, rows, data_root):
    bench = create(space, root=data_root)
    cpu = ProxyEvaluator(space, proxies, root=data_root)
    gpu = ProxyEvaluator(space, proxies, root=data_root, device="cuda")
    assert gpu.images.is_cuda
    assert gpu.options["rbflex"]["gamma_k"] == pytest.approx(cpu.options["rbflex"]["gamma_k"], rel=1e-4)
    before = torch.cuda.get_rng_state()
    for row in rows:
        _assert_scores_agree(gpu.score(bench.arch(row)), cpu.score(bench.arch(row)), f"{space} row {row}")
    assert torch.equal(torch.cuda.get_rng_state(), before)  # the caller's CUDA RNG is left as it was


def test_score_command_scores_each_rank_on_its_gpu(data_root, nb201, tmp_path):
    proxies = ["naswot", "synflow", "tenas_ntk"]
    module = ProxyScoringModule("nb201", proxies, root=str(data_root))
    trainer = L.Trainer(accelerator="gpu", devices=1, logger=False, enable_progress_bar=False, enable_model_summary=False, inference_mode=False)
    rows = np.array([3, 77, 9000])
    assert score_archs(module, trainer, ScoreTable(tmp_path / "scores.csv"), rows, archs_per_batch=2) == 3
    assert all(images.is_cuda for batches in module.evaluator.batches.values() for images, _ in batches)
    done, _ = ScoreTable(tmp_path / "scores.csv").load()
    cpu = ProxyEvaluator("nb201", proxies, root=data_root)
    for row in rows:
        _assert_scores_agree(done[str(nb201.keys[row])], cpu.score(nb201.arch(row)), f"nb201 row {row}")


PREDICTORS = {
    "renas": (
        lambda: ArchDataModule("nb101", metric="test_acc_run0", num_train=424, num_val=100, extra_features=["params", "flops", "cell_stats"], eval_batch_size=512),
        lambda dm: ReNASPredictor.for_datamodule(dm, filters="square+cross", ensemble_size=2),
    ),
    "gnn": (
        lambda: ArchDataModule("nb201", dataset="cifar10", encoding="graph", num_train=156, extra_features=["params"], batch_size=32),
        lambda dm: GNNPredictor.for_datamodule(dm, ensemble_size=3, member_kinds=["gin", "gat+attention", "pna"], loss=PairwiseLogisticLoss(), readout="sum+output"),
    ),
    "mlp": (
        lambda: ArchDataModule("nb201", dataset="cifar10", encoding="path", num_train=156, batch_size=32),
        lambda dm: MLPPredictor.for_datamodule(dm, ensemble_size=2),
    ),
}


@pytest.mark.parametrize("kind", sorted(PREDICTORS))
def test_predictors_fit_on_the_gpu_and_score_alike_on_the_cpu(kind, tmp_path):
    """As the shipped configs fit (``deterministic: true``), on the GPU; the checkpoint, loaded on
    the CPU as on a machine without a GPU, scores as the GPU does, up to cuDNN's TF32 convolutions."""
    L.seed_everything(0)
    make_data, make_model = PREDICTORS[kind]
    dm = make_data()
    model = make_model(dm)
    trainer = L.Trainer(accelerator="gpu", devices=1, max_steps=40, deterministic=True, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=1, limit_test_batches=4, default_root_dir=tmp_path)
    trainer.fit(model, dm)
    (metrics,) = trainer.test(model, dm, verbose=False)
    assert trainer.strategy.root_device.type == "cuda" and metrics["test/ktau"] > 0.2  # far above chance after 40 steps
    rows = np.linspace(0, len(dm.benchmark) - 1, 512).astype(int)
    archs = [dm.benchmark.arch(r) for r in rows]
    extra = dm.extra[rows] if model.num_extra else None
    space = dm.benchmark.space
    on_gpu = predict_archs(model.cuda(), space, archs, extra)  # Lightning hands the model back on the CPU after fit and test
    trainer.save_checkpoint(tmp_path / "gpu.ckpt")
    on_cpu = predict_archs(type(model).load_from_checkpoint(tmp_path / "gpu.ckpt", map_location="cpu"), space, archs, extra)
    assert np.abs(on_cpu - on_gpu).max() <= 1e-2 * on_gpu.std()


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "lightning_nas", *args], capture_output=True, text=True, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_fit_predict_and_search_on_the_gpu(tmp_path, data_root):
    """The user's day with ``--trainer.accelerator gpu``; the search scores with the predictor on
    the GPU (``--device cuda``)."""
    common = ["--config", "gnn_201.yaml", "--model.init_args.ensemble_size", "2", "--trainer.max_epochs", "3", "--trainer.accelerator", "gpu", "--trainer.logger", "false"]
    assert "test/ktau" in _run("fit", *common, cwd=tmp_path).stdout
    (ckpt,) = (tmp_path / "checkpoints").glob("gnn_201-epoch=2.ckpt")
    _run("predict", *common, "--ckpt_path", str(ckpt), cwd=tmp_path)
    rows = list(csv.DictReader((tmp_path / "predictions" / "gnn_201.csv").read_text().splitlines()))
    assert len(rows) == 15_625
    scores = np.float32([float(r["score"]) for r in rows])
    nb201 = create("nb201", root=data_root)
    on_cpu = PredictorScorer(load_predictor(ckpt), nb201, "cifar10")([nb201.arch(i) for i in range(len(rows))])
    assert np.abs(on_cpu - scores).max() <= 1e-2 * scores.std()
    # the 356 training and validation archs count as queries: 30 are left to the search
    _run("search", "--config", "search_rea_201.yaml", "--predictor", str(ckpt), "--device", "cuda", "--budget", "386", "--seeds", "[0]", "--output", "search", cwd=tmp_path)
    assert json.loads((tmp_path / "search" / "seed0" / "best.json").read_text())["queries"] == 386

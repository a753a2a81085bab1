"""Zero-cost proxies: the real networks (parameter counts, xautodl cross-check), every proxy on
real images, known orderings, determinism, resumable score tables, and proxy features."""

import json
import math

import lightning as L
import numpy as np
import pytest
import torch

from lightning_nas.utils.errors import BenchmarkFileError, InvalidArgument
from lightning_nas.proxies import PROXIES, ProxyEvaluator, ScoreTable, build_network, count_parameters, rank_combination, scoring, tenas_rank
from lightning_nas.proxies.images import draw_order, load_images
from lightning_nas.spaces.datasets import get_dataset
from lightning_nas.proxies.scoring import ProxyScoringModule, ScoreTableWriter, score_archs
from lightning_nas.search import ProxyScorer
from lightning_nas.spaces import get_space

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def nb201(data_root):
    from lightning_nas.benchmarks import NB201Benchmark

    return NB201Benchmark(root=data_root)


def test_nb201_networks_have_the_benchmarks_parameter_counts(nb201, shared_data):
    """Every NB201 arch, all three datasets. A cell's parameters do not depend on which edge an
    op sits on (every edge of a NB201 cell has the same width), so one real network per op
    multiset (210) covers all 15,625. NATS-Bench stores a count one conv off for 150 archs;
    NASLib's independent count (the published zero-cost file) agrees with our networks there."""
    import csv
    import gzip

    multisets = {}
    for i, ops in enumerate(nb201.space.op_ids):
        multisets.setdefault(tuple(sorted(ops.tolist())), i)
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        count_of = {ms: count_parameters(build_network("nb201", i, dataset)) for ms, i in multisets.items()}
        counts = np.array([count_of[tuple(sorted(ops.tolist()))] for ops in nb201.space.op_ids])
        off = np.flatnonzero(counts != nb201.column("params", dataset))
        assert len(off) == 150
        assert set(np.abs(counts[off] - nb201.column("params", dataset)[off]).tolist()) <= {28_000, 243_040, 215_040}
    with gzip.open(shared_data / "zc" / "naslib_zc_nb201_subset.csv.gz", "rt") as f:
        naslib = {int(r["nb201_index"]): round(float(r["params"]) * 1e6) for r in csv.DictReader(f) if r["dataset"] == "ImageNet16-120"}
    assert all(naslib[i] == counts[i] for i in naslib)
    assert len(set(naslib) & set(off.tolist())) >= 5


def test_nb101_networks_have_the_benchmarks_parameter_counts(nb101):
    """nasbench_pytorch networks (a random sample: ~70 ms each; perf/network_params.py checks
    all 423,624 from their real cells, and test_encodings checks the cost model on all)."""
    params = nb101.column("params")
    for i in np.random.default_rng(1).choice(len(nb101), 25, replace=False):
        assert count_parameters(build_network("nb101", nb101.arch(int(i)))) == params[i]


def test_networks_match_xautodl_module_for_module():
    pytest.importorskip("xautodl", reason="the cross-check needs xautodl: pip install --no-deps xautodl==1.0.0 (.ci/run installs it)")
    from xautodl.config_utils import dict2config
    from xautodl.models import get_cell_based_tiny_net

    from lightning_nas.spaces.nats_sss import NATS_SSS_CELL

    x = torch.randn(3, 3, 32, 32)
    cases = [("nb201", "|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|", {"name": "infer.tiny", "C": 16, "N": 5}),
             ("nb201", ALL_NONE, {"name": "infer.tiny", "C": 16, "N": 5}),
             ("nats_sss", "16:8:64:32:8", {"name": "infer.shape.tiny", "channels": "16:8:64:32:8", "genotype": NATS_SSS_CELL})]
    for space, arch, config in cases:
        if space == "nb201":
            config["arch_str"] = arch
        ours = build_network(space, arch, "cifar100")
        reference = get_cell_based_tiny_net(dict2config({**config, "num_classes": 100}, None))
        assert [(n.split(".")[0], tuple(p.shape)) for n, p in ours.named_parameters()] == [(n.split(".")[0], tuple(p.shape)) for n, p in reference.named_parameters()]
        ours.load_state_dict(reference.state_dict())
        ours.eval(), reference.eval()
        torch.testing.assert_close(ours(x), reference(x)[1])


def test_images_are_real_normalised_and_bad_input_is_named(tmp_path, data_root):
    images, labels = load_images("cifar10", num=64, root=data_root)
    assert images.shape == (64, 3, 32, 32) and labels.max() < 10
    assert abs(images.mean().item()) < 0.3 and 0.6 < images.std().item() < 1.4
    for num in (3, 200):  # smaller batches are prefixes of larger ones
        other, _ = load_images("cifar10", num=num, root=data_root)
        assert torch.equal(other[:64], images[:num])
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((4, 8, 8, 3), np.uint8), labels=np.zeros(4))
    with pytest.raises(BenchmarkFileError, match="bad.npz.*32, 32, 3"):
        load_images("cifar10", bad, num=2)
    np.savez(bad, images=np.zeros((4, 32, 32, 3), np.uint8), labels=np.array([3, 9, 10, 0]))
    with pytest.raises(BenchmarkFileError, match=r"bad.npz: label 10 \(image 2\) is not a cifar10 class, 0..9"):
        load_images("cifar10", bad, num=2)  # was: torch's "Target 10 is out of bounds" inside snip / fisher / grad_norm
    assert sorted(load_images("cifar100", bad, num=4)[1].tolist()) == [0, 3, 9, 10]  # a 100-class classifier takes them
    bad.write_text("not images\n")
    with pytest.raises(BenchmarkFileError, match=r"bad.npz: not an .npz \(an .npz is a zip archive; this file starts with b'not imag'\)"):
        load_images("cifar10", bad, num=2)  # was: "... (This file contains pickled (object) data. ... allow_pickle= ...)"
    with pytest.raises(BenchmarkFileError, match=r"no CIFAR100 data: expected torchvision's cifar-100-python/ folder \(with its training batches\) inside it"):
        load_images("cifar100", tmp_path, num=2)  # was torchvision's advice to use download=True, which this tool has no option for
    np.savez(bad, images=np.zeros((10, 32, 32, 3), np.uint8), labels=np.zeros(10))
    with pytest.raises(BenchmarkFileError, match=r"bad.npz: 10 images, 128 requested \(naswot's batch of 128 images\)"):
        ProxyEvaluator("nb201", ["synflow", "naswot"], images=bad)  # names the proxy that asks for them
    for missing in ("missing.npz", "missing"):  # was: a FileNotFoundError traceback from inside `score`'s Lightning run
        with pytest.raises(BenchmarkFileError, match=rf"{missing}: no such file or folder \(images: an .npz, a CIFAR folder or an ImageNet16 folder\)"):
            load_images("cifar10", tmp_path / missing, num=2)
    with pytest.raises(ValueError, match="unknown dataset 'cifar11'"):  # not a KeyError from the normalisation table
        ProxyEvaluator("nb201", ["synflow"], "cifar11", images=data_root / "images" / "cifar10_test_sample.npz")
    with pytest.raises(InvalidArgument, match=r"device cuda:99: torch sees \d+ CUDA device\(s\) on this machine"):
        ProxyEvaluator("nb201", ["synflow"], root=data_root, device="cuda:99")  # before any image is moved there


def write_imagenet16_batch(path, planes: np.ndarray, labels: np.ndarray) -> None:
    """One training batch in NATS-Bench's ImageNet16 format, as xautodl's ``ImageNet16`` reads it:
    a pickled dict whose ``data`` rows are the R, G and B 16x16 planes, ``labels`` 1..1000."""
    import pickle

    with open(path, "wb") as f:
        pickle.dump({"data": planes.reshape(len(planes), -1), "labels": labels.tolist(), "mean": planes.mean(0).ravel()}, f)


def _imagenet16_planes() -> tuple[np.ndarray, np.ndarray]:
    """300 random 3 x 16 x 16 images with ImageNet16 labels 1..240 (half of them among the 120 classes)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (300, 3, 16, 16), dtype=np.uint8), rng.integers(1, 241, 300)


def test_imagenet16_images_are_16x16_from_a_folder_or_an_npz(tmp_path, data_root):
    """ImageNet16-120 networks take 16x16 images. A 32x32 .npz used to be taken for them, and the
    proxies that depend on the input size scored other inputs (test_imagenet16_flops_relate_...)."""
    planes, labels = _imagenet16_planes()
    folder = tmp_path / "ImageNet16"
    folder.mkdir()
    write_imagenet16_batch(folder / "train_data_batch_1", planes, labels)
    write_imagenet16_batch(folder / "train_data_batch_2", planes[:10], np.ones(10, int))  # only the first batch is read
    images, targets = load_images("ImageNet16-120", folder, num=128)
    kept = labels <= 120  # ImageNet16-120: the first 120 of the 1,000 classes
    pick = draw_order(int(kept.sum()), 0)[:128]
    facts = get_dataset("ImageNet16-120")
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) / 255 for v in (facts.mean, facts.std))
    torch.testing.assert_close(images, (torch.from_numpy(planes[kept][pick]).float() / 255 - mean) / std)
    assert targets.tolist() == (labels[kept][pick] - 1).tolist()

    npz = tmp_path / "imagenet16.npz"
    np.savez(npz, images=planes[kept].transpose(0, 2, 3, 1), labels=labels[kept] - 1)
    same, same_targets = load_images("ImageNet16-120", npz, num=128)
    assert torch.equal(same, images) and torch.equal(same_targets, targets)
    cifar = data_root / "images" / "cifar10_test_sample.npz"
    with pytest.raises(BenchmarkFileError, match=r"must be \(N, 16, 16, 3\) uint8 with one label each \(ImageNet16-120 networks take 16x16 images"):
        load_images("ImageNet16-120", cifar, num=2)
    with pytest.raises(BenchmarkFileError, match=r"imagenet16.npz: 'images' must be \(N, 32, 32, 3\)"):
        load_images("cifar100", npz, num=2)
    (folder / "train_data_batch_1").write_bytes(b"\x80\x04truncated")
    with pytest.raises(BenchmarkFileError, match=r"train_data_batch_1: not an ImageNet16 batch"):
        load_images("ImageNet16-120", folder, num=2)
    with pytest.raises(InvalidArgument, match="unknown dataset 'ImageNet16'"):
        load_images("ImageNet16", npz, num=2)


def test_imagenet16_flops_relate_to_naslibs_as_cifar10_flops_do(tmp_path, data_root, shared_data):
    """On 16x16 images, flops relate to NASLib's ImageNet16-120 figures as CIFAR-10 flops to its CIFAR-10
    ones (on 32x32 images they came out 4x NASLib's figure)."""
    import csv
    import gzip

    planes, labels = _imagenet16_planes()
    kept = labels <= 120
    npz = tmp_path / "imagenet16.npz"
    np.savez(npz, images=planes[kept].transpose(0, 2, 3, 1), labels=labels[kept] - 1)
    cifar = data_root / "images" / "cifar10_test_sample.npz"
    with gzip.open(shared_data / "zc" / "naslib_zc_nb201_subset.csv.gz", "rt") as f:
        naslib = [(r["dataset"], r["arch_str"], float(r["flops"])) for r in csv.DictReader(f)]
    shared = sorted({a for d, a, _ in naslib if d == "ImageNet16-120"} & {a for d, a, _ in naslib if d == "cifar10"})[:3]
    ours = {"ImageNet16-120": ProxyEvaluator("nb201", ["flops"], "ImageNet16-120", images=npz), "cifar10": ProxyEvaluator("nb201", ["flops"], images=cifar)}
    for arch in shared:
        ratio = {d: ours[d].score(arch)["flops"] / next(v for e, a, v in naslib if (e, a) == (d, arch)) for d in ours}
        assert ratio["ImageNet16-120"] == pytest.approx(ratio["cifar10"], rel=0.01), (arch, ratio)


def test_a_cifar100_folder_reads_through_torchvision(tmp_path, monkeypatch):
    """torchvision's CIFAR-100 folder, written here in its exact format (pickled ``data`` rows of
    R, G and B 32x32 planes, ``fine_labels``). torchvision checks each file against the md5 of the
    real download, so the test gives it the checksums of these files instead."""
    import hashlib
    import pickle

    from torchvision.datasets import CIFAR100

    rng = np.random.default_rng(0)
    planes, labels = rng.integers(0, 256, (20, 3, 32, 32), dtype=np.uint8), rng.integers(0, 100, 20)
    folder = tmp_path / "cifar" / CIFAR100.base_folder
    folder.mkdir(parents=True)
    entries = {"train": {"data": planes.reshape(20, -1), "fine_labels": labels.tolist()},
               "test": {"data": planes[:2].reshape(2, -1), "fine_labels": [0, 1]}, "meta": {"fine_label_names": [str(c) for c in range(100)]}}
    md5 = {}
    for name, entry in entries.items():
        (folder / name).write_bytes(pickle.dumps(entry))
        md5[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    monkeypatch.setattr(CIFAR100, "train_list", [["train", md5["train"]]])
    monkeypatch.setattr(CIFAR100, "test_list", [["test", md5["test"]]])
    monkeypatch.setattr(CIFAR100, "meta", {**CIFAR100.meta, "md5": md5["meta"]})
    images, targets = load_images("cifar100", tmp_path / "cifar", num=20, seed=3)
    npz = tmp_path / "same.npz"
    np.savez(npz, images=planes.transpose(0, 2, 3, 1), labels=labels)
    assert torch.equal(images, load_images("cifar100", npz, num=20, seed=3)[0])
    assert targets.tolist() == labels[draw_order(20, 3)].tolist()


def test_te_nas_networks_say_where_they_apply(data_root):
    with pytest.raises(InvalidArgument, match="tenas_lr counts linear regions .* score tenas_lr without it"):
        ProxyEvaluator("nb201", ["tenas_ntk", "tenas_lr"], full_network=True, root=data_root)  # was: a conv2d channel error
    with pytest.raises(InvalidArgument, match=r"the 'tenas_ntk' network is not defined for nb101 archs \(it builds \['benchmark'\]\); score tenas_ntk on the benchmark network with full_network=True"):
        ProxyEvaluator("nb101", ["tenas_ntk"], root=data_root)  # was: at the first arch scored
    with pytest.raises(InvalidArgument, match=r"the 'tenas_lr' network is not defined for nats_sss archs \(it builds \['benchmark'\]\)$"):
        build_network("nats_sss", get_space("nats_sss").arch(0), variant="tenas_lr")


@pytest.fixture(scope="module")
def evaluator(data_root):
    return ProxyEvaluator("nb201", sorted(PROXIES), root=data_root)


def test_every_proxy_is_finite_on_real_networks_and_the_empty_cell_scores_worst(evaluator, nb201):
    archs = [nb201.arch(i) for i in (1, 5000, 11000)]
    scores = [evaluator.score(a) for a in archs]
    empty = evaluator.score(ALL_NONE)
    for name in PROXIES:
        values = [s[name] for s in scores]
        assert all(math.isfinite(v) for v in values), (name, values)
        assert empty[name] < min(values), (name, empty[name], values)


def test_scores_are_deterministic_order_free_and_leave_no_state(evaluator, nb201, data_root):
    a, b = nb201.arch(77), nb201.arch(9000)
    state = torch.get_rng_state()
    first = evaluator.score(a)
    evaluator.score(b)
    assert torch.equal(torch.get_rng_state(), state)
    fresh = ProxyEvaluator("nb201", sorted(PROXIES), root=data_root)
    fresh.score(b)
    assert fresh.score(a) == first  # same seed, other order, new process state: same numbers


def test_a_proxy_scores_the_same_whichever_proxies_come_beside_it(evaluator, nb201, data_root):
    arch = nb201.arch(258)
    for proxies in (["snip", "rbflex"], ["tenas_lr"]):  # fewer images than naswot's batch; tenas_lr's crops
        alone = ProxyEvaluator("nb201", proxies, root=data_root).score(arch)
        assert alone == evaluator.score(arch, only=proxies)


def test_params_and_flops_proxies_match_the_nb101_benchmark(nb101, data_root):
    ev = ProxyEvaluator("nb101", ["params", "flops"], root=data_root)
    for i in (0, 2000):
        s = ev.score(nb101.arch(i))
        assert s["params"] == nb101.column("params")[i]
        assert s["flops"] == pytest.approx(nb101.column("flops")[i] / 1e6, rel=0.01)  # thop vs torch counter
    assert ev.score(nb101.arch(0), only=["flops"]).keys() == {"flops"}
    with pytest.raises(ValueError, match=r"only=\['snip'\] names proxies this evaluator was not built with: \['params', 'flops'\]"):
        ev.score(nb101.arch(0), only=["flops", "snip"])  # was: snip silently left out


def test_rbflex_gamma_detection_skips_pairs_the_networks_cannot_tell_apart(evaluator):
    """A duplicated image would give gamma 0 (a constant kernel, every arch scoring alike); blank
    images leave no pair at all, which is an error, not gamma 0."""
    from lightning_nas.proxies.rbflex import detect_gammas

    images = evaluator.batches["naswot"][0][0][:4].clone()
    images[1] = images[0]
    networks = [build_network("nb201", get_space("nb201").arch(i), variant="benchmark") for i in (100, 9000)]
    assert min(detect_gammas(networks, images)) > 0
    with pytest.raises(InvalidArgument, match="no usable image pair"):
        detect_gammas(networks, torch.zeros_like(images))


def test_tenas_rank_combines_both_rankings():
    ntk = np.array([-10.0, -2.0, -5.0])  # negated condition numbers: arch 1 best
    regions = np.array([300.0, 100.0, 200.0])  # arch 0 best
    assert tenas_rank(ntk, regions).tolist() == [-4.0, -4.0, -4.0]
    assert np.argmax(tenas_rank(np.array([-1.0, -9.0]), np.array([50.0, 10.0]))) == 0


def test_rank_combination_sums_ranks_so_scale_does_not_matter():
    a = np.array([1.0, 2.0, 3.0])
    assert rank_combination([a]).tolist() == [-3.0, -2.0, -1.0]
    assert rank_combination([a, 1e9 * a[::-1], a]).tolist() == [-7.0, -6.0, -5.0]  # two proxies agree: arch 2 wins


def _scoring(data_root, tmp_path, proxies=("synflow", "params", "tenas_lr")):
    module = ProxyScoringModule("nb201", list(proxies), root=str(data_root))
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False, inference_mode=False)
    return module, trainer


def test_score_table_resumes_after_a_kill_without_rescoring(data_root, tmp_path, monkeypatch):
    rows = np.arange(0, 15625, 700)  # 23 archs
    monkeypatch.setattr(scoring.time, "strftime", lambda *_: "20260101000000")  # kill and resume in the same second
    reference = ScoreTable(tmp_path / "one_run.csv")
    assert score_archs(*_scoring(data_root, tmp_path), reference, rows, archs_per_batch=4) == len(rows)

    original = ScoreTableWriter.write_on_batch_end
    calls = {"n": 0}

    def killed_on_third_batch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ScoreTableWriter, "write_on_batch_end", killed_on_third_batch)
    table = ScoreTable(tmp_path / "killed.csv")
    with pytest.raises(SystemExit):  # Lightning turns Ctrl-C into a graceful shutdown + exit(1)
        score_archs(*_scoring(data_root, tmp_path), table, rows, archs_per_batch=4)
    monkeypatch.setattr(ScoreTableWriter, "write_on_batch_end", original)
    assert len(list(table.parts.glob("part-*.csv"))) == 2 and not table.path.exists()

    assert score_archs(*_scoring(data_root, tmp_path), table, rows, archs_per_batch=4) == len(rows) - 8  # the 2 saved batches are skipped
    assert table.path.read_text() == reference.path.read_text()
    assert not table.parts.exists()
    # a later run with one more proxy scores only that proxy
    assert score_archs(*_scoring(data_root, tmp_path, ("synflow", "params", "tenas_lr", "flops")), table, rows, archs_per_batch=8) == len(rows)
    done, _ = table.load()
    assert all(set(s) == {"synflow", "params", "tenas_lr", "flops"} for s in done.values())


def test_a_score_table_holds_scores_of_one_setting(data_root, tmp_path, caplog):
    rows = np.arange(0, 15625, 5000)
    table = ScoreTable(tmp_path / "scores.csv")
    score_archs(*_scoring(data_root, tmp_path, ("params",)), table, rows)
    assert table.settings() == {"space": "nb201", "dataset": "cifar10", "images": "cifar10_test_sample.npz", "seed": 0, "full_network": False,
                                "protocol": {"params": PROXIES["params"].protocol.record()}}
    cifar100 = ProxyScoringModule("nb201", ["params"], "cifar100", images=str(data_root / "images" / "cifar10_test_sample.npz"), root=str(data_root))
    trainer = _scoring(data_root, tmp_path)[1]
    with pytest.raises(InvalidArgument, match=r"scores.csv was scored with other settings: dataset 'cifar10' \(now 'cifar100'\)"):
        score_archs(cifar100, trainer, table, rows)  # before: "already in the table", cifar10's classifier counted as cifar100's
    with pytest.raises(InvalidArgument, match=r"other settings: seed 0 \(now 1\)"):  # a search computes missing scores beside the table's
        ProxyScorer("nb201", ["params"], table=table.path, seed=1, root=data_root)
    table.settings_path.write_text("[1, 2]")
    with pytest.raises(BenchmarkFileError, match=r"scores.csv.settings.json: not a settings record \(\[1, 2\]\)"):
        table.check_settings({"seed": 0})
    table.settings_path.unlink()  # a table written by hand or by an older version: adopted, with a warning
    with caplog.at_level("WARNING"):
        score_archs(*_scoring(data_root, tmp_path, ("params",)), table, rows)
    assert "has no settings record" in caplog.text and table.settings()["dataset"] == "cifar10"
    table.path.unlink()  # the record of a deleted table does not bind the next one
    assert score_archs(cifar100, trainer, table, rows) == len(rows)
    assert table.settings()["dataset"] == "cifar100"


def test_datamodule_joins_proxy_scores_from_a_table(data_root, tmp_path, capsys):
    from lightning_nas.search import predict_archs

    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import GNNPredictor

    table = ScoreTable(tmp_path / "scores.csv")
    disconnected = get_space("nb201").index("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")  # synflow = -inf
    rows = np.sort(np.append(np.arange(0, 15625, 250), disconnected))  # 64 archs
    score_archs(*_scoring(data_root, tmp_path, ("synflow",)), table, rows, archs_per_batch=16)
    dm = ArchDataModule(space="nb201", encoding="graph", dataset="cifar10", metric="test_acc", num_train=30, num_val=10,
                        extra_features=["synflow", "params"], proxy_table=str(table.path), root=data_root)
    dm.setup()
    used = np.concatenate([dm.split.train_rows, dm.split.test_rows])
    assert sorted(used.tolist()) == rows.tolist()  # the -inf arch is kept: -inf is a score
    assert dm.extra[disconnected, 0] == -np.inf and torch.isnan(dm.extra[1, 0])  # row 1 is not scored
    model = GNNPredictor.for_datamodule(dm)
    L.Trainer(max_steps=3, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False).fit(model, dm)
    assert torch.isfinite(model.extra_mean).all() and (model.extra_std > 0).all()
    extra = model._extra(dm.collate(used.tolist()))
    assert torch.isfinite(extra).all()
    assert extra[used.tolist().index(disconnected), 0] == model.extra_floor[0] < extra[:, 0].sort().values[1]  # below every real score
    with pytest.raises(ValueError, match=r"NaN or \+inf for benchmark rows \[1\]"):
        model._extra(dm.collate([1]))
    # predict scores the archs that have the features: the table's, not the whole space
    from lightning_nas.datamodules.predictions import ScoreWriter, read_scores

    L.Trainer(logger=False, enable_progress_bar=False, callbacks=[ScoreWriter(str(tmp_path / "p.csv"))]).predict(model, dm, return_predictions=False)
    assert read_scores(tmp_path / "p.csv")["row"].tolist() == rows.tolist()
    assert f"wrote 64 scores to {tmp_path / 'p.csv'} (the other 15,561 archs have no proxy scores in {table.path})" in capsys.readouterr().out
    student = ArchDataModule(space="nb201", encoding="graph", dataset="cifar10", metric="test_acc", num_train=30, num_val=10, extra_features=["synflow", "params"],
                             proxy_table=str(table.path), root=data_root, pseudo_labels=str(tmp_path / "p.csv"), num_pseudo=5)
    student.setup()  # self-training on a proxy-fed teacher's scores, which cover the table's archs only
    assert np.isin(student.split.pseudo_rows, rows).all() and len(student.split.test_rows) == 64 - 30 - 5

    # a search scores candidates with the same features: the table's where it has the arch, computed with its settings where not
    from lightning_nas.search import PredictorScorer, RandomSearch, SearchCallback

    model.eval()
    scorer = PredictorScorer(model, dm.benchmark, "cifar10", table.path, root=data_root)
    tabled = dm.split.test_rows[:6].tolist()
    space = dm.benchmark.space
    np.testing.assert_allclose(scorer([dm.benchmark.arch(r) for r in tabled]), predict_archs(model, space, [dm.benchmark.arch(r) for r in tabled], dm.extra[tabled]))
    outside = dm.benchmark.arch(1)  # not in the table
    synflow = ProxyEvaluator("nb201", ["synflow"], root=data_root).score(outside)["synflow"]
    expected = predict_archs(model, space, [outside], np.float32([[synflow, dm.benchmark.column("params", "cifar10")[1]]]))
    assert scorer([outside])[0] == pytest.approx(float(expected[0]))
    with pytest.raises(InvalidArgument, match="extra feature 'synflow' is a zero-cost proxy: give data.proxy_table"):
        PredictorScorer(model, dm.benchmark, "cifar10")
    other = ScoreTable(tmp_path / "other.csv")
    other.write_part({dm.benchmark.space.key(outside): {"naswot": 1.0}}, {dm.benchmark.space.key(outside): 1}, "a")
    other.merge()
    with pytest.raises(InvalidArgument, match=r"'synflow' is a zero-cost proxy: .*other.csv has no 'synflow' scores for nb201"):
        PredictorScorer(model, dm.benchmark, "cifar10", other.path)
    callback = SearchCallback(RandomSearch(num_candidates=4), budget=44, dataset="cifar10")
    model.train()
    L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
              default_root_dir=tmp_path, callbacks=[callback]).fit(model, dm)
    assert callback.results[0].queries == 44
    with pytest.raises(BenchmarkFileError, match="score table .* not found"):
        ArchDataModule(space="nb201", num_train=5, proxy_table=str(tmp_path / "missing.csv"), root=data_root).setup()
    with pytest.raises(ValueError, match=rf"score table {table.path} holds no nb101 arch \(scored on another space\?\)"):
        ArchDataModule(space="nb101", metric="test_acc_run0", num_train=5, extra_features=["synflow"], proxy_table=str(table.path), root=data_root).setup()
    with pytest.raises(ValueError, match=rf"num_train=64 must be between 1 and 62 \(of the 64 archs with 'test_acc' and a row in {table.path}, 2 at least are left to test on\)"):
        ArchDataModule(space="nb201", dataset="cifar10", num_train=64, extra_features=["synflow"], proxy_table=str(table.path), root=data_root).setup()
    with pytest.raises(InvalidArgument, match="'naswot' is a zero-cost proxy: .*scores.csv has no 'naswot' scores"):
        ArchDataModule(space="nb201", num_train=5, extra_features=["naswot"], proxy_table=str(table.path), root=data_root).setup()


def test_search_from_a_proxy_fed_checkpoint_reads_the_fits_table(data_root, tmp_path, monkeypatch, capsys):
    """`search --predictor` finds the fit's score table through the checkpoint; from another folder,
    where its relative path does not lead, the error says where to run."""
    from lightning_nas import cli
    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import GNNPredictor

    monkeypatch.chdir(tmp_path)
    score_archs(*_scoring(data_root, tmp_path, ("synflow",)), ScoreTable("scores.csv"), np.arange(0, 15625, 250), archs_per_batch=16)
    dm = ArchDataModule(space="nb201", encoding="graph", dataset="cifar10", metric="test_acc", num_train=30, num_val=10,
                        extra_features=["synflow", "params"], proxy_table="scores.csv", root=data_root)
    trainer = L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(GNNPredictor.for_datamodule(dm), dm)
    trainer.save_checkpoint("fit.ckpt")
    args = ["search", "--space", "nb201", "--dataset", "cifar10", "--budget", "44", "--strategy", "RandomSearch",
            "--strategy.num_candidates", "3", "--predictor", str(tmp_path / "fit.ckpt"), "--root", str(data_root)]
    assert cli.main([*args, "--output", "here"]) == 0
    assert json.loads((tmp_path / "here" / "seed0" / "best.json").read_text())["queries"] == 44
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli.main([*args, "--output", "there"]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "error: score table scores.csv not found; build it with 'python -m lightning_nas score' "
        f"({tmp_path / 'fit.ckpt'} was fit with data.proxy_table scores.csv: run the search from the folder the fit ran in)"
    )


def test_a_search_scores_the_archs_a_table_lacks_on_the_tables_images_and_seed(data_root, nb201, tmp_path, monkeypatch, capsys, make_predictor):
    """A table scored with `score --images/--seed` guides a search only if the archs it lacks are
    scored alike: `search --proxy_images/--proxy_seed` (was: no way to give them, and for CIFAR-100
    an error asking for `--images`, which search did not take), and a proxy-fed predictor's scorer
    is told where the images its fit's table names are."""
    from lightning_nas import cli
    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import GNNPredictor
    from lightning_nas.search import PredictorScorer, RandomSearch, SearchCallback

    monkeypatch.chdir(tmp_path)
    with np.load(data_root / "images" / "cifar10_test_sample.npz") as sample:  # real images, another source
        np.savez(tmp_path / "mine.npz", images=sample["images"][::-1], labels=sample["labels"][::-1])
    mine = str(tmp_path / "mine.npz")
    module = ProxyScoringModule("nb201", ["synflow"], images=mine, seed=2, root=str(data_root))
    score_archs(module, _scoring(data_root, tmp_path)[1], ScoreTable("t.csv"), np.arange(0, 15625, 1000))
    search = ["search", "--space", "nb201", "--budget", "4", "--strategy", "RandomSearch", "--strategy.num_candidates", "3",
              "--root", str(data_root), "--proxies", "synflow"]
    assert cli.main([*search, "--proxy_table", "t.csv"]) == 1
    assert "t.csv was scored with other settings: images 'mine.npz' (now 'cifar10_test_sample.npz'), seed 2 (now 0)" in capsys.readouterr().err
    assert cli.main([*search, "--proxy_table", "t.csv", "--proxy_images", mine, "--proxy_seed", "2"]) == 0
    outside = nb201.arch(1)  # not in the table: scored on the table's images and seed
    scorer = ProxyScorer("nb201", ["synflow"], table="t.csv", images=mine, seed=2, root=data_root)
    assert scorer([outside])[0] == ProxyEvaluator("nb201", ["synflow"], images=mine, seed=2, root=data_root).score(outside)["synflow"]
    assert cli.main([*search, "--proxy_dataset", "cifar100", "--output", "c100"]) == 0  # synflow needs no images (zeros of their shape)
    naswot = [*search[:-1], "naswot", "--proxy_dataset", "cifar100"]
    assert cli.main([*naswot, "--proxy_images", mine, "--output", "c100n"]) == 0
    assert cli.main(["search", "--space", "nb201", "--budget", "4", "--strategy", "RandomSearch", "--proxy_images", mine]) == 1
    assert "--proxy_images sets up --proxies" in capsys.readouterr().err

    fed = make_predictor(GNNPredictor, "nb201", extra_features=["synflow"])
    with pytest.raises(InvalidArgument, match=r"t.csv was scored on images 'mine.npz', .* give their path \(search --proxy_images"):
        PredictorScorer(fed, nb201, "cifar10", "t.csv", root=data_root)
    settings = PredictorScorer(fed, nb201, "cifar10", "t.csv", root=data_root, proxy_images=mine).proxies.evaluator.settings
    assert (settings["images"], settings["seed"]) == ("mine.npz", 2)  # the seed comes from the table's record
    with pytest.raises(InvalidArgument, match="proxy_images .* given, but the predictor reads no zero-cost proxy scores"):
        PredictorScorer(make_predictor(GNNPredictor, "nb201"), nb201, "cifar10", root=data_root, proxy_images=mine)
    dm = ArchDataModule(space="nb201", encoding="graph", dataset="cifar10", metric="test_acc", num_train=8, num_val=4,
                        extra_features=["synflow"], proxy_table="t.csv", root=data_root)

    def trainer_that_searches(images: str | None) -> tuple[SearchCallback, L.Trainer]:
        callback = SearchCallback(RandomSearch(num_candidates=3), budget=14, dataset="cifar10", proxy_images=images)
        return callback, L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[callback])

    _, trainer = trainer_that_searches(None)
    with pytest.raises(InvalidArgument, match="scored on images 'mine.npz'"):
        trainer.fit(GNNPredictor.for_datamodule(dm), dm)
    assert trainer.global_step == 0  # refused as the fit sets up, not after the training
    callback, trainer = trainer_that_searches(mine)
    trainer.fit(GNNPredictor.for_datamodule(dm), dm)
    assert trainer.global_step == 2 and callback.results[0].queries == 14


def test_datasets_without_shipped_images_fall_back_to_the_cifar10_sample_and_say_so(data_root, caplog):
    """CIFAR-100 / ImageNet16-120 images are not shipped: the CIFAR-10 sample stands in at the dataset's size, one line says so."""
    cifar10, labels10 = load_images("cifar10", num=8, root=data_root)
    with caplog.at_level("WARNING"):
        cifar100, labels100 = load_images("cifar100", num=8, root=data_root)
        imagenet16, _ = load_images("ImageNet16-120", num=8, root=data_root)
    assert caplog.text.count("documented fallback") == 2 and "no cifar100 images given" in caplog.text
    assert cifar100.shape == (8, 3, 32, 32) and imagenet16.shape == (8, 3, 16, 16) and torch.equal(labels100, labels10)
    assert not torch.allclose(cifar100, cifar10)  # normalised with CIFAR-100's statistics
    naswot = ProxyEvaluator("nb201", ["naswot"], "ImageNet16-120", root=data_root).score(get_space("nb201").arch(100))["naswot"]
    assert math.isfinite(naswot)


def test_protocol_options_change_what_they_should_and_are_recorded(nb201, data_root, tmp_path):
    from lightning_nas.proxies.protocol import Protocol, augment, initialise

    arch = nb201.arch(4321)
    default = ProxyEvaluator("nb201", ["naswot", "tenas_ntk", "rbflex"], root=data_root)
    assert default.settings["protocol"]["tenas_ntk"] == {"batch_size": 72, "repeats": 3, "repeat_over": "init+batch", "init": "kaiming_normal_fanout",
                                                          "augment": True, "gammas": None,
                                                          "batch_per_arch": False, "network": None}  # TE-NAS's prune_launch.py
    assert len(default.batches["tenas_ntk"]) == 3 and not torch.equal(default.batches["tenas_ntk"][0][0], default.batches["tenas_ntk"][1][0])
    assert len(default.batches["naswot"]) == 1 and default.batches["naswot"][0][0].shape[0] == 128

    changed = ProxyEvaluator("nb201", ["naswot", "tenas_ntk", "rbflex"], root=data_root, protocol={
        "naswot": {"batch_size": 64}, "tenas_ntk": {"repeats": 1, "init": "default", "augment": False}, "rbflex": {"gammas": [0.5, 0.25]}})
    assert changed.batches["naswot"][0][0].shape[0] == 64 and torch.equal(changed.batches["naswot"][0][0], default.batches["naswot"][0][0][:64])
    assert torch.equal(changed.batches["tenas_ntk"][0][0], default.batches["naswot"][0][0][:72])  # not augmented: the plain first 72
    assert changed.options["rbflex"] == {"gamma_k": 0.5, "gamma_q": 0.25} != default.options["rbflex"]
    assert changed.settings["protocol"]["naswot"]["batch_size"] == 64 and changed.settings["protocol"]["rbflex"]["gammas"] == [0.5, 0.25]
    old, new = default.score(arch), changed.score(arch)
    assert all(old[name] != new[name] for name in old)

    # repeats average draws: two draws over initialisations are the mean of draw 0 (the single-draw score) and draw 1
    one = ProxyEvaluator("nb201", ["naswot"], root=data_root).score(arch)["naswot"]
    two = ProxyEvaluator("nb201", ["naswot"], root=data_root, protocol={"naswot": {"repeats": 2}}).score(arch)["naswot"]
    assert two != one and ProxyEvaluator("nb201", ["naswot"], root=data_root, protocol={"naswot": {"repeats": 2, "repeat_over": "batch"}}).batches["naswot"][1][0].shape[0] == 128
    synflow = ProxyEvaluator("nb201", ["synflow"], root=data_root, protocol={"synflow": {"repeats": 5, "repeat_over": "init+batch"}})
    assert math.isfinite(synflow.score(arch)["synflow"]) and len(synflow.batches["synflow"]) == 1  # data-free: no batches to draw

    conv = torch.nn.Conv2d(64, 256, 3)
    bn = torch.nn.BatchNorm2d(4)
    bn.weight.data.fill_(3.0)
    initialise(torch.nn.Sequential(conv, bn), "kaiming_normal_fanout")
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (256 * 9)), rel=0.05) and (bn.weight == 1).all() and (conv.bias == 0).all()
    images = torch.randn(50, 3, 8, 8)
    fill = torch.tensor([-1.0, -2.0, -3.0])
    out = augment(images, torch.Generator().manual_seed(0), fill)
    assert out.shape == images.shape and not torch.equal(out, images)
    assert all(((out[:, c] == fill[c]) | torch.isin(out[:, c], images[:, c])).all() for c in range(3))  # pixels moved, or black padding

    table = ScoreTable(tmp_path / "t.csv")
    rows = np.arange(0, 15625, 7000)
    trainer = _scoring(data_root, tmp_path)[1]
    score_archs(ProxyScoringModule("nb201", ["tenas_lr"], root=str(data_root), protocol={"tenas_lr": {"repeats": 1}}), trainer, table, rows)
    assert table.settings()["protocol"]["tenas_lr"]["repeats"] == 1
    with pytest.raises(InvalidArgument, match=r"other settings: protocol of tenas_lr .*'repeats': 1.* \(now .*'repeats': 3"):
        score_archs(ProxyScoringModule("nb201", ["tenas_lr"], root=str(data_root)), trainer, table, rows)
    score_archs(ProxyScoringModule("nb201", ["params"], root=str(data_root)), trainer, table, rows)  # another proxy joins: its protocol is added
    assert set(table.settings()["protocol"]) == {"tenas_lr", "params"}
    with pytest.raises(InvalidArgument, match=r"protocol of naswot: unknown option\(s\) \['repeat'\]; options: \['augment', 'batch_per_arch', 'batch_size'"):
        ProxyEvaluator("nb201", ["naswot"], root=data_root, protocol={"naswot": {"repeat": 2}})
    with pytest.raises(InvalidArgument, match=r"protocol given for \['snip'\], which are not among the proxies scored \['naswot'\]"):
        ProxyEvaluator("nb201", ["naswot"], root=data_root, protocol={"snip": {"repeats": 2}})
    with pytest.raises(InvalidArgument, match="protocol of naswot: gammas are RBFleX's kernel widths, for rbflex only"):
        ProxyEvaluator("nb201", ["naswot"], root=data_root, protocol={"naswot": {"gammas": [1, 1]}})
    with pytest.raises(InvalidArgument, match=r"protocol of tenas_ntk: unknown init 'xavier'; choose from \['default'"):
        ProxyEvaluator("nb201", ["tenas_ntk"], root=data_root, protocol={"tenas_ntk": {"init": "xavier"}})


def test_batch_per_arch_gives_each_arch_its_own_batch_as_naslib_does(nb201, data_root, tmp_path):
    """NASLib's and zero-cost-nas's loaders hand every arch the next shuffled batch: ``batch_per_arch`` draws each
    arch's batch (and augmentation) from the images with the arch's seed, so a rescored arch gets the same one."""
    import dataclasses

    seen: list[tuple[int, torch.Tensor]] = []
    row = [0]

    def spy(network, images, labels):
        seen.append((row[0], images.clone()))
        return float(images.sum())

    def batches(protocol, source=None):
        evaluator = ProxyEvaluator("nb201", ["jacov"], root=data_root, images=source, protocol={"jacov": protocol})
        evaluator.proxies = [dataclasses.replace(evaluator.proxies[0], compute=spy)]
        seen.clear()
        for row[0] in (10, 20, 10):
            evaluator.score(nb201.arch(row[0]))
        return evaluator, [x for _, x in seen]

    evaluator, (a, b, again) = batches({"batch_size": 32, "batch_per_arch": True})
    pool = evaluator.batches["jacov"][0][0]
    assert len(pool) == 500 and a.shape[0] == 32  # drawn from the whole shipped sample
    assert torch.equal(a, again) and not torch.equal(a, b)
    assert all(any(torch.equal(image, p) for p in pool) for image in a)  # images of the pool, unchanged without augment
    assert not torch.equal(a, pool[:32])
    _, (augmented, _, _) = batches({"batch_size": 32, "batch_per_arch": True, "augment": True})
    assert not torch.equal(augmented, a)
    _, fixed = batches({"batch_size": 32})
    assert torch.equal(fixed[0], fixed[1]) and torch.equal(fixed[0], pool[:32])  # the default: one batch for every arch
    assert evaluator.settings["protocol"]["jacov"]["batch_per_arch"] is True

    images, labels = load_images("cifar10", num=40, root=data_root)  # a source smaller than the pool holds enough for a batch
    small = tmp_path / "small.npz"
    raw = (images * torch.tensor(get_dataset("cifar10").std).view(1, 3, 1, 1) + torch.tensor(get_dataset("cifar10").mean).view(1, 3, 1, 1))
    np.savez(small, images=raw.permute(0, 2, 3, 1).round().clamp(0, 255).numpy().astype(np.uint8), labels=labels.numpy())
    evaluator, _ = batches({"batch_size": 32, "batch_per_arch": True}, small)
    assert len(evaluator.batches["jacov"][0][0]) == 40
    with pytest.raises(BenchmarkFileError, match=r"small.npz: 40 images, 64 requested \(jacov's batch of 64 images\)"):
        ProxyEvaluator("nb201", ["jacov"], root=data_root, images=small, protocol={"jacov": {"batch_per_arch": True}})


def test_a_protocol_picks_a_network_variant_and_older_records_still_match(nb201, data_root, tmp_path):
    from lightning_nas.proxies.protocol import same_protocol

    with pytest.raises(InvalidArgument, match=r"the 'naslib' network is not defined for nb201 archs \(it builds \['benchmark', 'tenas_ntk', 'tenas_lr'\]\)"):
        ProxyEvaluator("nb201", ["naswot"], root=data_root, protocol={"naswot": {"network": "naslib"}})
    arch = nb201.arch(4321)
    own = ProxyEvaluator("nb201", ["naswot"], root=data_root).score(arch)["naswot"]
    tenas = ProxyEvaluator("nb201", ["naswot"], root=data_root, protocol={"naswot": {"network": "tenas_ntk"}})
    assert tenas.settings["protocol"]["naswot"]["network"] == "tenas_ntk" and tenas.score(arch)["naswot"] != own
    with pytest.raises(InvalidArgument, match="tenas_lr counts linear regions"):
        ProxyEvaluator("nb201", ["tenas_lr"], root=data_root, protocol={"tenas_lr": {"network": "benchmark"}})

    # a table scored before these options existed recorded protocols without them: they are the defaults
    current = PROXIES["jacov"].protocol.record()
    older = {k: v for k, v in current.items() if k not in ("batch_per_arch", "network")}
    assert same_protocol(older, current) and not same_protocol(older, {**current, "batch_per_arch": True})
    table = ScoreTable(tmp_path / "older.csv")
    rows = np.arange(0, 15625, 7000)
    score_archs(ProxyScoringModule("nb201", ["params"], root=str(data_root)), _scoring(data_root, tmp_path)[1], table, rows)
    settings = table.settings()
    settings["protocol"]["params"] = {k: v for k, v in settings["protocol"]["params"].items() if k not in ("batch_per_arch", "network")}
    table.settings_path.write_text(json.dumps(settings))
    table.check_settings(ProxyScoringModule("nb201", ["params"], root=str(data_root)).settings)
    with pytest.raises(InvalidArgument, match="protocol of params"):
        table.check_settings(ProxyScoringModule("nb201", ["params"], root=str(data_root), protocol={"params": {"network": "tenas_ntk"}}).settings)


def test_tegnas_generalization_is_the_error_of_ntk_kernel_regression(data_root):
    """Kernel regression interpolates what it was fit on: held-out images equal to the fitted ones give no error,
    real held-out images a positive one."""
    from lightning_nas.proxies.tenas import tegnas_mse

    images, labels = load_images("cifar10", num=64, root=data_root)
    network = build_network("nb201", get_space("nb201").arch(7000), variant="tenas_ntk")
    held_out = -tegnas_mse(network, images, labels)
    same = -tegnas_mse(network, torch.cat([images[:32], images[:32]]), torch.cat([labels[:32], labels[:32]]))
    assert same == pytest.approx(0, abs=1e-6) and 0.05 < held_out < 10
    with pytest.raises(InvalidArgument, match="tegnas_mse needs a batch of at least 4 images"):
        tegnas_mse(network, images[:2], labels[:2])

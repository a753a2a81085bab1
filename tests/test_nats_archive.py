"""The official NATS-Bench archive path, on a tiny archive written in the exact format
``nats_bench`` reads (a bz2 pickle of ``meta_archs`` / ``arch2infos`` / ``evaluated_indexes``,
with ``ArchResults`` / ``ResultsCount`` state dicts), since the real archives are gigabytes."""

import bz2
import pickle

import pytest
from nats_bench.api_utils import ArchResults, ResultsCount

from lightning_nas.benchmarks import NATSSizeBenchmark, NB201Benchmark
from lightning_nas.utils.errors import BenchmarkFileError
from lightning_nas.spaces import NATSSizeSpace, NB201Space

# epochs stored per run of each training schedule (hp); few, so that reading every arch stays fast
EPOCHS = {"12": 3, "200": 4}
SSS_EPOCHS = {"01": 1, "12": 2, "90": 3}
EVAL_SETS = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
             "cifar100": ("x-valid", "x-test", "ori-test"), "ImageNet16-120": ("x-valid", "x-test", "ori-test")}


def _arch_results(index: int, arch: str, epochs: int, acc: float) -> dict:
    results = ArchResults(index, arch)
    for dataset, sets in EVAL_SETS.items():
        results.dataset_seed[dataset] = [777, 888]
        for seed in (777, 888):
            run = ResultsCount(dataset, None, {e: 50.0 for e in range(epochs)}, {e: 1.0 for e in range(epochs)},
                               params=0.5 + index / 1e4, flop=80.0, arch_config={"arch_str": arch, "channel": 16,
                               "num_cells": 5, "class_num": 10}, seed=seed, epochs=epochs, latency=[0.01])
            run.update_train_info(run.train_acc1es, None, run.train_losses, {e: 2.0 for e in range(epochs)})
            shift = {"x-valid": 0.0, "x-test": -1.0, "ori-test": -0.5}
            keys = [f"{s}@{e}" for s in sets for e in range(epochs)]
            run.update_eval({k: acc + shift[k.split("@")[0]] + (seed == 888) for k in keys},
                            {k: 0.1 for k in keys}, {k: 1.0 for k in keys})
            results.all_results[(dataset, seed)] = run
    return results.state_dict()


def _write_archive(path, space, epochs: dict[str, int], special: int, special_acc: dict[str, float]):
    """Every arch scores 80 % except arch ``special`` (``special_acc`` per schedule)."""
    archs = [space.arch(i) for i in range(len(space))]
    shared = {hp: _arch_results(0, archs[0], n, 80.0) for hp, n in epochs.items()}  # pickled once, referenced by every arch
    arch2infos = {i: shared for i in range(len(archs))}
    arch2infos[special] = {hp: _arch_results(special, archs[special], n, special_acc[hp]) for hp, n in epochs.items()}
    with bz2.open(path, "wb") as f:
        pickle.dump({"meta_archs": archs, "arch2infos": arch2infos, "evaluated_indexes": list(range(len(archs)))}, f)
    return path


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-simple.pickle.pbz2"
    return _write_archive(path, NB201Space(), EPOCHS, 6111, {"12": 88.0, "200": 94.0})


def test_reads_official_archive_through_nats_bench(archive):
    bench = NB201Benchmark(source=archive)
    assert len(bench) == 15_625 and bench.table.meta["source_kind"] == "NATS-Bench archive"
    # means over seeds 777/888: x-valid 94 / 94+1 -> 94.5, ori-test 93.5 / 94.5 -> 94.0
    assert bench.query(6111, "cifar10-valid", "val_acc") == pytest.approx(94.5)
    assert bench.query(6111, "cifar10-valid", "test_acc") == pytest.approx(94.0)
    assert bench.query(6111, "cifar100", "test_acc") == pytest.approx(93.5)  # x-test
    assert bench.query(6111, "cifar100", "valtest_acc") == pytest.approx(94.0)  # ori-test
    assert bench.query(6111, "cifar10", "test_acc", epochs=12) == pytest.approx(88.0)
    assert bench.query(0, "cifar10", "test_acc") == pytest.approx(80.0)
    assert bench.query(6111, "cifar10", "params") == 1_111_100  # 0.5 + 6111 / 1e4 million
    assert bench.query(6111, "cifar10-valid", "train_time") == pytest.approx(8.0)  # 4 epochs x 2 s


def test_archive_in_another_order_is_rejected(tmp_path):
    space = NB201Space()
    archs = [space.arch(i) for i in range(len(space))]
    archs[0], archs[1] = archs[1], archs[0]
    path = tmp_path / "NATS-tss-v1_0-3ffb9-simple.pickle.pbz2"
    with bz2.open(path, "wb") as f:
        pickle.dump({"meta_archs": archs, "arch2infos": {}, "evaluated_indexes": []}, f)
    with pytest.raises(BenchmarkFileError, match="not the nb201 space in official order"):
        NB201Benchmark(source=path)


SSS_BEST = "64:8:16:24:32"


@pytest.fixture(scope="module")
def sss_root(tmp_path_factory):
    """A data root whose ``nats_sss/`` holds a size-space archive in which every config scores 80 %
    except :data:`SSS_BEST`."""
    root = tmp_path_factory.mktemp("sss")
    (root / "nats_sss").mkdir()
    accuracies = {"01": 30.0, "12": 70.0, "90": 92.0}
    _write_archive(root / "nats_sss" / "NATS-sss-v1_0-50262-simple.pickle.pbz2", NATSSizeSpace(), SSS_EPOCHS, NATSSizeSpace().index(SSS_BEST), accuracies)
    return root


def test_reads_the_size_space_archive_through_nats_bench(sss_root):
    """NATS-sss has its own training schedules (1, 12 and 90 epochs) and 32,768 channel configs."""
    config, index = SSS_BEST, NATSSizeSpace().index(SSS_BEST)
    bench = NATSSizeBenchmark(root=sss_root)
    assert len(bench) == 32_768 and bench.table.meta["source_kind"] == "NATS-Bench archive"
    assert bench.query(config, "cifar10-valid", "val_acc") == pytest.approx(92.5)  # seeds 777 / 888: 92, 93
    assert bench.query(config, "cifar10", "test_acc") == pytest.approx(92.0)  # ori-test: 91.5 / 92.5
    assert bench.query(config, "cifar10", "test_acc", epochs=12) == pytest.approx(70.0)
    assert bench.query(config, "cifar10", "test_acc", epochs=1) == pytest.approx(30.0)
    assert bench.query("8:8:8:8:8", "cifar10", "test_acc") == pytest.approx(80.0)
    assert bench.query(config, "cifar10", "params") == round((0.5 + index / 1e4) * 1e6)


def test_an_mlp_predictor_fits_and_guides_a_search_on_the_size_space(sss_root):
    """The size space end to end: one-hot channel encodings, an MLP fit, a predictor-guided search."""
    import lightning as L

    from lightning_nas.datamodules import ArchDataModule
    from lightning_nas.models import MLPPredictor
    from lightning_nas.search import PredictorScorer, QueryBudget, RegularizedEvolution, run_search

    L.seed_everything(0)
    dm = ArchDataModule("nats_sss", dataset="cifar10", encoding="onehot", num_train=200, num_val=50, extra_features=["params"], root=sss_root)
    model = MLPPredictor.for_datamodule(dm)
    trainer = L.Trainer(max_steps=5, logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, dm)
    assert dm.features.shape == (32_768, 40)
    result = run_search(RegularizedEvolution(num_candidates=10), QueryBudget(dm.benchmark, 20, "cifar10"), scorer=PredictorScorer(model.eval(), dm.benchmark, "cifar10"), seed=0)
    assert result.queries == 20 and result.select_column == "cifar10-valid/val_acc@90"

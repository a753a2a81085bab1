"""The DARTS space: genotype forms and their round trips, canonical keys, sampling, mutation, bad genotypes."""

import csv
import gzip
import json

import numpy as np
import pytest

from lightning_nas.spaces import DartsGenotype, get_space
from lightning_nas.spaces.darts import OPS
from lightning_nas.utils.errors import InvalidArchitecture

#: DARTS (second order), as the DARTS paper's code publishes it
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), "
            "('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
            "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


@pytest.fixture(scope="module")
def darts():
    return get_space("darts")


def test_genotype_text_key_and_compact_round_trip(darts):
    arch = darts.validate(DARTS_V2)
    text, key, compact = darts.genotype_text(arch), darts.key(arch), darts.compact(arch)
    assert darts.validate(text) == darts.validate(key) == darts.validate(compact) == arch
    assert darts.genotype_text(text) == text and darts.key(compact) == key
    assert key.startswith("normal:sep_conv_3x3~0,sep_conv_3x3~1,sep_conv_3x3~0,sep_conv_3x3~1,skip_connect~0,sep_conv_3x3~1,")  # node 4 sorted
    assert darts.validate(json.loads(json.dumps({"normal": arch.normal, "reduce": arch.reduce}))) == arch  # genotype.json
    assert darts.validate(DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)")) == arch  # as some of DARTS's genotypes write the concat


def test_the_published_subsets_three_forms_of_each_cell_agree(darts, shared_data):
    """Every NAS-Bench-301 cell of ../shared/data/zc: its normal / reduce columns and NASLib's compact form give one key."""
    with gzip.open(shared_data / "zc" / "naslib_zc_nb301_subset.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))
    keys = set()
    for row in rows:
        from_columns = darts.validate(f"normal:{row['normal']}|reduce:{row['reduce']}")
        from_compact = darts.validate(json.loads(row["naslib_compact"].replace("(", "[").replace(")", "]")))
        assert from_columns == from_compact, row["naslib_compact"]
        keys.add(darts.key(from_columns))
    assert len(rows) >= 1218 and len(keys) == len({(r["normal"], r["reduce"]) for r in rows})


def test_isomorphic_cells_share_a_key_and_others_do_not(darts):
    arch = darts.validate(DARTS_V2)
    swapped = DartsGenotype(normal=arch.normal[1::-1] + arch.normal[2:], reduce=arch.reduce)  # node 2's pairs in the other order
    assert darts.key(darts._canonical({"normal": swapped.normal, "reduce": swapped.reduce})) == darts.key(arch)
    other = list(arch.normal)
    other[7] = ("sep_conv_5x5", other[7][1])
    assert darts.key(darts.validate({"normal": other, "reduce": arch.reduce})) != darts.key(arch)


def test_sampling_mutation_and_decisions_give_valid_archs(darts):
    rng = np.random.default_rng(0)
    archs = [darts.sample(rng) for _ in range(200)]
    assert len({darts.key(a) for a in archs}) == 200 and all(darts.validate(darts.key(a)) == a for a in archs)
    used = {op for a in archs for op, _ in a.normal + a.reduce}
    assert used == set(OPS)
    for arch in archs[:50]:
        child = darts.mutate(arch, rng)
        differing = sum(p != q for cell in ("normal", "reduce") for p, q in zip(arch.cell(cell), child.cell(cell)))
        assert darts.key(child) != darts.key(arch) and 1 <= differing <= 2  # one pair changed (its node may re-sort)
    assert len(darts.decisions) == 24 and darts.decisions[:3] == (1, 7, 7) and darts.decisions[9:12] == (10, 7, 7)
    assert darts.from_decisions([0] * 24).normal[:2] == (("max_pool_3x3", 0), ("max_pool_3x3", 1))
    structure = darts.to_structure(archs[:5])
    assert structure["ops"].shape == structure["inputs"].shape == (5, 2, 8) and structure["inputs"].max() <= 4


@pytest.mark.parametrize(("arch", "message"), [
    (DARTS_V2.replace("'dil_conv_3x3', 2", "'conv_3x3', 2"), r"normal cell, node 5: unknown op 'conv_3x3'; the ops are max_pool_3x3, "),
    (DARTS_V2.replace("('skip_connect', 2), ('max_pool_3x3', 1)]", "('skip_connect', 5), ('max_pool_3x3', 1)]"), r"reduce cell, node 5: input 5 out of range; node 5 takes inputs 0..4"),
    (DARTS_V2.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ", "", 1), r"normal cell has 6 \(op, input\) pairs; a cell has 8, two per intermediate node"),
    (DARTS_V2.replace("('sep_conv_3x3', 1), ('skip_connect', 0)", "('sep_conv_3x3', 0), ('skip_connect', 0)"), r"normal cell, node 4: both pairs take input 0"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), r"normal_concat \[4, 5\]: the space concatenates every intermediate node"),
    ("Genotype(normal=[", r"not valid Python"),
    ("normal:sep_conv_3x3~0", r"expected 'normal:...\|reduce:...'"),
    ([[(0, 9)] * 8, [(0, 0)] * 8], r"NASLib compact normal cell: op number 9 out of range 0..6"),
    (42, r"a DARTS arch is a Genotype\(...\) text, a key, NASLib's compact form or a genotype mapping; got int"),
])
def test_bad_genotypes_get_one_line_errors(darts, arch, message):
    with pytest.raises(InvalidArchitecture, match=message) as caught:
        darts.validate(arch)
    assert "\n" not in str(caught.value)


def test_the_darts_v2_network_has_the_papers_parameters_and_nb301_networks_naslibs(darts, shared_data):
    """DARTS-V2 as the DARTS paper evaluates it on CIFAR-10 (36 channels, 20 cells, auxiliary head): 3.3 M parameters
    (the paper's count leaves the auxiliary head out); NB301's networks: NASLib's published counts, exactly."""
    import torch

    from lightning_nas.spaces.darts_network import DartsNetwork, count_parameters

    v2 = DartsNetwork(darts.validate(DARTS_V2), 36, 20, 10, auxiliary=True)
    assert round(count_parameters(v2) / 1e6, 1) == 3.3 and count_parameters(v2, auxiliary=True) > count_parameters(v2)
    v2.train()
    logits, aux = v2.forward_with_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10) and v2.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with gzip.open(shared_data / "zc" / "naslib_zc_nb301_subset.csv.gz", "rt") as f:
        rows = list(csv.DictReader(f))[::40]
    for row in rows:
        network = darts.build_network(darts.validate(f"normal:{row['normal']}|reduce:{row['reduce']}"), 10)
        assert count_parameters(network) == round(float(row["params"]) * 1e6), row["normal"]


def test_the_nb301_subset_is_a_table_of_real_labels_and_bad_files_are_named(darts, shared_data, tmp_path):
    import torch
    from scipy.stats import spearmanr
    from torch.utils.flop_counter import FlopCounterMode

    from lightning_nas.benchmarks.base import Benchmark
    from lightning_nas.benchmarks.darts import DartsBenchmark
    from lightning_nas.utils.errors import BenchmarkFileError

    bench = DartsBenchmark(root=shared_data)
    assert isinstance(bench, Benchmark) and len(bench) == 1218
    with gzip.open(shared_data / "zc" / "naslib_zc_nb301_subset.csv.gz", "rt") as f:
        row = next(csv.DictReader(f))
    arch = darts.validate(f"normal:{row['normal']}|reduce:{row['reduce']}")
    assert bench.query(arch, metric="val_acc") == pytest.approx(float(row["val_accuracy"]))
    assert darts.key(bench.arch(bench.index(arch))) == darts.key(arch) and bench.query(arch, metric="params") == round(float(row["params"]) * 1e6)
    ours, published = [], []
    for r in range(0, 1218, 100):  # FLOPs of our NB301 networks (conv and linear MACs) against NASLib's, which also counts pooling and BN
        network = darts.build_network(bench.arch(r), 10).eval()
        counter = FlopCounterMode(display=False)
        with counter:
            network(torch.zeros(1, 3, 32, 32))
        ours.append(counter.get_total_flops() / 2)
        published.append(bench.column("flops")[r])
    assert spearmanr(ours, published).statistic >= 0.98 and all(0.85 < o / p < 1 for o, p in zip(ours, published))
    with pytest.raises(InvalidArchitecture, match=r"darts arch 'normal:sep_conv_3x3~0.* is not in DartsBenchmark\(1218 archs"):
        bench.index(DARTS_V2)
    bad = tmp_path / "zc" / "naslib_zc_nb301_subset.csv.gz"
    bad.parent.mkdir()
    with gzip.open(bad, "wt") as f:
        f.write("normal,reduce,val_accuracy,params,flops\n")
        f.write(f"\"{row['normal'].replace('max_pool_3x3', 'conv_9x9', 1)}\",\"{row['reduce']}\",93.1,0.8,150\n")
    with pytest.raises(BenchmarkFileError, match=r"naslib_zc_nb301_subset.csv.gz, line 2: DARTS normal cell, node 2: unknown op 'conv_9x9'"):
        DartsBenchmark(root=tmp_path)
    with pytest.raises(BenchmarkFileError, match=r"no NAS-Bench-301 \(DARTS space; not shipped with the package\) data in"):
        DartsBenchmark(root=tmp_path / "empty")


@pytest.fixture(scope="module")
def nb301(shared_data):
    from lightning_nas.benchmarks import create

    return create("darts", root=shared_data)


def test_searches_move_only_among_the_published_cells(nb301):
    """create("darts") searches the table: sampling, mutation and REINFORCE's choices give published cells."""
    space = nb301.space
    rows = set(nb301.keys.tolist())
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(50)]
    assert all(space.key(a) in rows for a in archs) and len({space.key(a) for a in archs}) > 40
    for arch in archs[:20]:
        child = space.mutate(arch, rng)
        assert space.key(child) in rows and space.key(child) != space.key(arch)
    choices = [int(rng.integers(n)) for n in space.decisions]
    assert space.key(space.from_decisions(choices)) in rows and space.from_decisions(choices) == space.from_decisions(choices)
    assert space.nearest(archs[0]) == archs[0] and len(space) == len(nb301) and space.index(archs[3]) == nb301.index(archs[3])
    assert space.genotype_text(archs[0]).startswith("Genotype(normal=[")  # the space's own forms, through the table space
    assert space.validate(DARTS_V2) == get_space("darts").validate(DARTS_V2)  # any genotype still validates (a predictor may score it)
    with pytest.raises(InvalidArchitecture, match=r"is a darts arch but not one of the table's 1218 rows"):
        space.index(DARTS_V2)


def test_a_predictor_guided_search_writes_a_genotype_that_loads_back(shared_data, tmp_path, monkeypatch):
    """gnn_darts.yaml fits a GIN on published cells; a search guided by it writes genotype.json and genotype.txt."""
    from lightning_nas.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["fit", "--config", "gnn_darts.yaml", "--data.root", str(shared_data), "--data.num_train", "30", "--data.num_val", "10",
                 "--trainer.max_epochs", "2", "--trainer.check_val_every_n_epoch", "1", "--trainer.logger", "false",
                 "--trainer.enable_progress_bar", "false", "--model.init_args.ensemble_size", "1"]) == 0
    (checkpoint,) = (tmp_path / "checkpoints").glob("gnn_darts-epoch=*.ckpt")
    out = tmp_path / "search"
    assert main(["search", "--space", "darts", "--root", str(shared_data), "--budget", "60", "--seeds", "[0]", "--output", str(out),
                 "--predictor", str(checkpoint), "--strategy", "lightning_nas.search.RegularizedEvolution"]) == 0
    best = json.loads((out / "seed0" / "best.json").read_text())
    darts = get_space("darts")
    from_json = darts.validate(json.loads((out / "seed0" / "genotype.json").read_text()))
    from_text = darts.validate((out / "seed0" / "genotype.txt").read_text())
    assert darts.key(from_json) == darts.key(from_text) == best["best_arch"] and best["reported"] == "cifar10/val_acc@100" and best["queries"] == 60


def test_graph_renas_and_onehot_layouts_carry_the_networks_exact_costs(darts):
    """Each op node's params and MACs in every NB301 cell add up, with a fixed stem / preprocessing / classifier
    part, to the built network's parameter count and our flops proxy, on any genotype."""
    from lightning_nas.encodings import get_encoding
    from lightning_nas.proxies import ProxyEvaluator
    from lightning_nas.spaces.darts_layouts import NUM_NODES, _node_costs
    from lightning_nas.spaces.darts_network import count_parameters

    rng = np.random.default_rng(3)
    archs = [darts.sample(rng) for _ in range(3)] + [darts.validate(DARTS_V2)]
    costs = _node_costs(darts.to_structure(archs))
    flops = ProxyEvaluator("darts", ["flops"])
    fixed = {(count_parameters(darts.build_network(a, 10)) - c[:, :8].sum(), flops.score(a)["flops"] * 1e6 - c[:, 8:].sum()) for a, c in zip(archs, costs)}
    assert len(fixed) == 1 and min(next(iter(fixed))) > 0
    graphs = get_encoding("graph")(darts, darts.to_structure(archs))
    one = graphs[3]
    assert one.num_nodes == NUM_NODES and one.edge_index.shape[1] == 2 * (8 + 8 + 4)  # per cell: 8 inputs of ops, 8 op -> node, 4 node -> output
    assert get_encoding("renas")(darts, darts.to_structure(archs)).shape == (4, 17, NUM_NODES, NUM_NODES)
    onehot = get_encoding("onehot")(darts, darts.to_structure(archs))
    assert onehot.shape == (4, 192) and bool((onehot[:].sum(1) == 32).all())  # an op and an input bit per pair
    assert not torch_equal(graphs[0].x, graphs[1].x)


def torch_equal(a, b) -> bool:
    return a.shape == b.shape and bool((a == b).all())


def test_tenas_search_networks_score_darts_cells(darts):
    """TE-NAS's DARTS supernet shape (C=1: a normal and a reduction cell, BN + ReLU before pooling; without a stem for
    the linear regions of one-channel 3x3 crops) scores with its proxies."""
    from lightning_nas.proxies import ProxyEvaluator

    arch = darts.validate(DARTS_V2)
    network = darts.build_network(arch, 10, "tenas_ntk")
    assert len(network.cells) == 2 and network.classifier.in_features == 8  # 4 nodes x 2 channels after the reduction
    scores = ProxyEvaluator("darts", ["tenas_lr", "tenas_ntk"], protocol={"tenas_ntk": {"batch_size": 14, "repeats": 1}}).score(arch)
    assert scores["tenas_lr"] > 1 and np.isfinite(scores["tenas_ntk"]) and scores["tenas_ntk"] < 0


def test_the_naslib_network_adds_a_parameter_free_bn_after_each_pooling(darts):
    """NASLib scored its published NB301 proxies on networks whose pooling ops end in a BN without scale and shift
    (DARTS's search-network ops): the ``naslib`` variant, which a protocol's ``network`` picks."""
    from torch import nn

    from lightning_nas.proxies import ProxyEvaluator, count_parameters

    arch = darts.validate(DARTS_V2)  # its reduction cell is pools and skips
    benchmark, naslib = darts.build_network(arch, 10), darts.build_network(arch, 10, "naslib")
    pools = [m for m in naslib.modules() if isinstance(m, nn.Sequential) and isinstance(m[0], (nn.MaxPool2d, nn.AvgPool2d))]
    assert len(pools) == 5 * 2 and all(isinstance(m[1], nn.BatchNorm2d) and not m[1].affine for m in pools)  # 5 pools in each of 2 reduction cells
    assert count_parameters(naslib) == count_parameters(benchmark)
    assert not any(isinstance(m, nn.Sequential) and isinstance(m[0], (nn.MaxPool2d, nn.AvgPool2d)) for m in benchmark.modules())
    scores = [ProxyEvaluator("darts", ["naswot"], protocol={"naswot": {"batch_size": 16, **network}}).score(arch)["naswot"] for network in ({}, {"network": "naslib"})]
    assert scores[0] != scores[1]


def test_a_genotype_trains_one_epoch_on_the_cifar10_sample_and_its_checkpoint_loads(tmp_path, monkeypatch):
    """``train --config train_darts.yaml`` on the shipped sample (a small network: 8 channels, 5 cells) with the
    auxiliary head, drop path and cutout; the checkpoint rebuilds the network from the genotype text it records."""
    import torch

    from lightning_nas.cli import main
    from lightning_nas.training import Cutout, GenotypeTraining

    monkeypatch.chdir(tmp_path)
    (tmp_path / "genotype.txt").write_text(DARTS_V2)
    args = ["train", "--config", "train_darts.yaml", "--model.genotype", "genotype.txt", "--model.channels", "8", "--model.layers", "5",
            "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1", "--trainer.logger", "false",
            "--trainer.enable_progress_bar", "false", "--data.num_workers", "0", "--data.batch_size", "16"]
    assert main(args) == 0
    trained = GenotypeTraining.load_from_checkpoint(tmp_path / "checkpoints" / "train_darts-last.ckpt")
    assert trained.arch == get_space("darts").validate(DARTS_V2) and trained.hparams.channels == 8
    assert trained.network.auxiliary_head is not None and trained(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    image = Cutout(16)(torch.ones(3, 32, 32))
    assert 64 <= int((image[0] == 0).sum()) <= 256 and bool((image[0] == image[1]).all())
    assert main(["train", "--config", "train_darts.yaml", "--model.genotype", "missing.json"]) == 1
    # 3 batches, not 1: jsonargparse may read "1" as the float 1.0, every batch
    resume = ["--trainer.max_epochs", "2", "--trainer.limit_train_batches", "3", "--ckpt_path=checkpoints/train_darts-last.ckpt"]
    assert main([*args, *resume]) == 0
    assert torch.load(tmp_path / "checkpoints" / "train_darts-last.ckpt", weights_only=False)["global_step"] == 2 + 3  # resumed, not restarted
    assert main(["train", "--config", "train_darts.yaml", "--model.genotype", "genotype.txt", "--ckpt_path"]) == 1

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

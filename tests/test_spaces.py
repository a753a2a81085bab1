import numpy as np
import pytest

from lightning_nas.utils.errors import InvalidArchitecture
from lightning_nas.spaces import NATSSizeSpace, NB101Space, NB201Space
from lightning_nas.spaces.nb101 import module_hash

INCEPTION = (
    [
        [0, 1, 1, 1, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"],
)


def test_nb101_hash_matches_module_hash_on_random_5000(nb101):
    rows = np.random.default_rng(0).choice(len(nb101), 5000, replace=False)
    space = NB101Space()
    adjacency, ops = nb101.structure["adjacency"], nb101.structure["ops"]
    mismatches = [r for r in rows if space.from_arrays(adjacency[r], ops[r]).module_hash != nb101.keys[r]]
    assert mismatches == []


def test_hand_built_inception_cell_finds_its_record(nb101):
    arch = NB101Space().validate(INCEPTION)
    assert arch.module_hash == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert nb101.query(arch, metric="params") == 2_694_282
    assert nb101.query(INCEPTION, metric="test_acc_run0") == pytest.approx(93.119, abs=1e-3)


def test_hash_is_invariant_to_vertex_order():
    m = np.array(INCEPTION[0])
    ops = list(INCEPTION[1])
    perm = [0, 2, 1, 3, 4, 5, 6]  # swap two independent interior vertices
    m2 = m[np.ix_(perm, perm)]
    ops2 = [ops[i] for i in perm]
    assert module_hash(m, ops) == module_hash(m2, ops2)
    ops3 = ops.copy()
    ops3[1] = "maxpool3x3"
    assert module_hash(m, ops) != module_hash(m, ops3)


def test_random_isomorphs_are_the_same_cells_in_other_vertex_orders(nb101):
    space = NB101Space()
    rows = np.random.default_rng(1).choice(len(nb101), 300, replace=False)
    structure = {k: v[rows] for k, v in nb101.structure.items()}
    copies = space.random_isomorphs(structure, 3, np.random.default_rng(0))
    assert copies["adjacency"].shape == (900, 7, 7) and not np.tril(copies["adjacency"]).any()
    keys = [space.from_arrays(a, o).module_hash for a, o in zip(copies["adjacency"], copies["ops"])]
    assert keys == list(np.repeat(nb101.keys[rows], 3))
    moved = (copies["adjacency"] != np.repeat(structure["adjacency"], 3, axis=0)).any(axis=(1, 2))
    assert 0.1 < moved.mean() < 1  # many cells admit other orders; chains do not
    with pytest.raises(ValueError, match="fixed vertex layout"):
        NB201Space().random_isomorphs({"ops": np.zeros((1, 6), np.int8)}, 2, np.random.default_rng(0))


def test_pruning_removes_dangling_vertices():
    matrix = np.zeros((7, 7), int)
    matrix[0, 1] = matrix[1, 6] = 1  # input -> v1 -> output
    matrix[0, 2] = 1  # v2 has no path to the output
    matrix[3, 6] = 1  # v3 is not reachable from the input
    ops = ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]
    arch = NB101Space().validate((matrix, ops))
    assert arch.num_vertices == 3 and arch.ops == ("input", "conv3x3-bn-relu", "output")


@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        ([[0, 1], [1, 0]], ["input", "output"], "upper-triangular"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], "unknown op"),
        ([[0, 0, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"], "no path"),
        ([[0, 1], [0, 0]], ["conv3x3-bn-relu", "output"], "first op"),
        ([[0, 2], [0, 0]], ["input", "output"], "0 or 1"),
    ],
)
def test_invalid_nb101_archs_raise_with_the_arch_in_the_message(matrix, ops, message):
    with pytest.raises(InvalidArchitecture, match=message) as info:
        NB101Space().validate((matrix, ops))
    assert "NB101 arch" in str(info.value)


def test_more_than_nine_edges_is_invalid():
    matrix = np.triu(np.ones((7, 7), int), k=1)  # 21 edges
    ops = ["input"] + ["conv3x3-bn-relu"] * 5 + ["output"]
    with pytest.raises(InvalidArchitecture, match="edges > 9"):
        NB101Space().validate((matrix, ops))


def test_nb101_sample_and_mutate_are_valid_distinct_and_seeded():
    space = NB101Space()
    a = [space.sample(np.random.default_rng(7)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(1)
    for _ in range(50):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert child != parent and space.key(space.validate(child)) == space.key(child)
        assert child.num_edges <= 9 and child.num_vertices <= 7


def test_nb201_string_ops_index_round_trip_matches_benchmark_order(nb201):
    space = NB201Space()
    assert len(space) == 15625
    for i in range(len(space)):
        arch = nb201.keys[i]
        assert space.arch(i) == arch
        assert space.index(arch) == i
        assert space.index(space.ops(arch)) == i


@pytest.mark.parametrize(
    "arch",
    [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|",
        "|conv_7x7~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        "|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
        "",
        True,  # a bool is no index (True == 1)
    ],
)
def test_bad_nb201_strings_raise_naming_the_string(arch):
    with pytest.raises(InvalidArchitecture) as info:
        NB201Space().validate(arch)
    assert repr(arch) in str(info.value)


@pytest.mark.parametrize("arch", [3.0, None, {"ops": ["none"] * 6}])
def test_an_nb201_arch_of_another_type_lists_the_forms_taken(arch):
    with pytest.raises(InvalidArchitecture, match=r"NB201 arch must be an arch string, an official index or 6 op names, got \w+: "):
        NB201Space().validate(arch)


def test_nb201_mutation_changes_exactly_one_edge():
    space = NB201Space()
    rng = np.random.default_rng(0)
    for _ in range(100):
        parent = space.sample(rng)
        child = space.mutate(parent, rng)
        assert sum(a != b for a, b in zip(space.ops(parent), space.ops(child))) == 1


def test_nats_sss_index_order_and_validation():
    space = NATSSizeSpace()
    assert len(space) == 32768
    assert space.arch(0) == "8:8:8:8:8" and space.arch(1) == "8:8:8:8:16" and space.arch(32767) == "64:64:64:64:64"
    for i in np.random.default_rng(0).integers(0, 32768, 200):
        assert space.index(space.arch(int(i))) == i
    with pytest.raises(InvalidArchitecture, match="12"):
        space.validate("12:8:8:8:8")
    with pytest.raises(InvalidArchitecture, match="True"):
        space.validate(True)
    for i in (0, 1, 12345, 32767):
        assert tuple(space.channel_counts[i]) == space.channels(space.arch(i))
    assert space.mutate("8:8:8:8:8", np.random.default_rng(0)) != "8:8:8:8:8"


@pytest.mark.parametrize("space", [NB201Space(), NATSSizeSpace()])
def test_indices_outside_the_space_are_refused(space):
    assert space.arch(np.int64(len(space) - 1)) == space.arch(len(space) - 1)
    for index in (-1, len(space), True):
        with pytest.raises(InvalidArchitecture, match=f"index {index} out of range"):
            space.arch(index)

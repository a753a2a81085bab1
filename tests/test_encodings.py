import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from lightning_nas.encodings import ENCODINGS, CastRows, DenseGraphs, EdgeTensors, GraphEncoding, OneHotEncoding, PathEncoding, ReNASEncoding, Rows, encode, get_encoding
from lightning_nas.features import ColumnGroup, ExtraFeatures, expand_features
from lightning_nas.spaces import SPACES, get_space, nb101_costs
from lightning_nas.spaces.nb101_cell_stats import CELL_STATS
from lightning_nas.utils.errors import UnknownMetric
from lightning_nas.spaces.nb201 import OPS

from test_spaces import INCEPTION


def test_params_and_flops_sums_equal_the_benchmarks_for_every_nb101_arch(nb101):
    """Per-vertex params summed over the 9 cells + stem + classifier = the benchmark's params; the
    same for FLOPs as thop counts them (BN included) = the compact table's flops, which a table read
    from the official tfrecord (no FLOPs in it) computes this way."""
    adjacency, ops = nb101_costs.to_output_last(nb101.structure["adjacency"], nb101.structure["ops"])
    assert np.array_equal(nb101_costs.total_params(adjacency, ops), nb101.column("params"))
    assert np.array_equal(nb101_costs.total_flops(adjacency, ops), nb101.column("flops"))


def test_renas_tensor_channels_carry_the_per_cell_costs(nb101):
    x = encode(ReNASEncoding(), nb101.space, nb101.structure)
    assert x.shape == (423_624, 19, 7, 7) and x.dtype == torch.float32
    row = nb101.index(INCEPTION)
    t = x[row]
    adjacency = t[0] > 0
    # type channel: destination op code + 1 on every edge; output (code 5) in the last column
    assert int(adjacency.sum()) == nb101.arch(row).num_edges and (t[0, :, 6][adjacency[:, 6]] == 5).all()
    # params channels: each vertex's cost appears once per incoming edge; summing each vertex's
    # value once reproduces the network's parameter count
    per_vertex = t[10:19].amax(dim=1).double().sum().item() * 1e6
    total = per_vertex + nb101_costs.STEM_PARAMS + nb101_costs.CLASSIFIER_PARAMS
    assert total == pytest.approx(2_694_282, rel=1e-6)
    # two stacks deeper a vertex has 4x the channels, so ~16x the conv params
    assert t[17].sum().item() == pytest.approx(16 * t[10].sum().item(), rel=0.02)


@pytest.mark.parametrize("encoding", [ReNASEncoding, OneHotEncoding, PathEncoding])
def test_rows_are_built_when_read_as_the_dense_tensors_would_be(nb201, encoding):
    """The table keeps compact arrays (ReNAS: the adjacency and per-vertex values, a seventh of the
    tensors' size; path and one-hot: uint8, a quarter of float32) and builds float32 rows on reading."""
    table = encode(encoding(), nb201.space, nb201.structure)
    assert isinstance(table, Rows) and len(table) == 15_625 and table.dtype == torch.float32
    if isinstance(table, EdgeTensors):
        dense = table.adjacency[:, None].float() * table.node_values[:, :, None, :]  # out[n, c, i, j] = A[n, i, j] * v[n, c, j]
    else:
        assert isinstance(table, CastRows) and table.values.dtype == torch.uint8
        dense = table.values.float()
    assert table.shape == dense.shape and torch.equal(table[:], dense)
    rows = np.array([3, 0, 15_624, 3])
    assert torch.equal(table[rows], dense[rows]) and torch.equal(table[torch.as_tensor(rows)], dense[rows]) and torch.equal(table[rows.tolist()], dense[rows])
    mask = np.zeros(len(table), dtype=bool)
    mask[rows] = True
    assert torch.equal(table[mask], dense[mask]) and torch.equal(table[torch.from_numpy(mask)], dense[mask])
    assert torch.equal(table[np.int64(7)], dense[7]) and torch.equal(table[10:20:3], dense[10:20:3]) and table.batch([]).shape == (0, *dense.shape[1:])


def test_encode_cache_gives_identical_tensors(nb201):
    first = encode(ReNASEncoding(), nb201.space, nb201.structure)
    again = encode(ReNASEncoding(), nb201.space, nb201.structure)
    assert first.shape == (15_625, 7, 8, 8) and torch.equal(first[:], again[:])


def test_encode_archs_matches_the_table_encoding(nb101):
    rows = [0, 5, 67206]
    table = encode(ReNASEncoding(), nb101.space, nb101.structure)[rows]
    fresh = ReNASEncoding().encode_archs(nb101.space, [nb101.arch(r) for r in rows])
    assert torch.allclose(table, fresh[:])


def test_graph_batches_match_single_graphs(nb101, nb201):
    for bench, features in ((nb101, 5 + 6), (nb201, 7 + 6)):  # op one-hot + per-stack params/FLOPs
        graphs = encode(GraphEncoding(), bench.space, bench.structure)
        rows = [3, 1000, 42]
        batch = graphs.batch(rows)
        expected = Batch.from_data_list([graphs[r] for r in rows])
        assert isinstance(batch, Batch) and batch.num_graphs == 3 and batch.x.shape[1] == features
        assert graphs.adjacency.dtype == torch.uint8 and batch.edge_index.dtype == torch.long  # kept compact, batched as PyG wants
        assert torch.equal(batch.x, expected.x) and torch.equal(batch.edge_index, expected.edge_index)
        assert torch.equal(batch.batch, expected.batch)
        mask = np.isin(np.arange(len(graphs)), rows)  # a mask selects its rows, in row order
        assert torch.equal(graphs.batch(mask).x, graphs.batch(sorted(rows)).x)
    g = encode(GraphEncoding(), nb101.space, nb101.structure)[nb101.index(INCEPTION)]
    assert g.num_nodes == 7 and g.edge_index.shape[1] == 9


def test_nb201_graph_moves_ops_onto_nodes(nb201):
    g = encode(GraphEncoding(), nb201.space, nb201.structure)[6111]
    ops = nb201.space.ops(nb201.keys[6111])
    assert g.num_nodes == 8
    assert g.x[0, 0] == 1 and g.x[7, 6] == 1  # input, output
    assert [OPS[int(g.x[i, 1:6].argmax())] for i in range(1, 7)] == list(ops)


def test_onehot_sizes_and_distinctness(nb101, nb201):
    from lightning_nas.spaces import NATSSizeSpace

    sss = NATSSizeSpace()
    x101 = encode(OneHotEncoding(), nb101.space, nb101.structure)[:]
    x201 = encode(OneHotEncoding(), nb201.space, nb201.structure)[:]
    xsss = encode(OneHotEncoding(), sss, {"channels": sss.channel_counts})[:]
    assert x101.shape == (423_624, 36) and x201.shape == (15_625, 30) and xsss.shape == (32_768, 40)
    assert [x.shape[1] for x in (x101, x201, xsss)] == [OneHotEncoding().shape(s)["features"] for s in (nb101.space, nb201.space, sss)]
    assert (x201.sum(1) == 6).all() and (xsss.sum(1) == 5).all()
    assert torch.unique(x201, dim=0).shape[0] == 15_625 and torch.unique(xsss, dim=0).shape[0] == 32_768
    configs = ["8:8:8:8:8", "64:8:16:24:32", "64:64:64:64:64"]
    assert torch.equal(OneHotEncoding().encode_archs(sss, configs)[:], xsss[[sss.index(c) for c in configs]])
    assert xsss[sss.index("64:8:16:24:32")].view(5, 8).argmax(1).tolist() == [7, 0, 1, 2, 3]  # channel 8k is slot k-1


def test_path_encoding_counts_named_input_output_paths(nb101, nb201):
    """Hand-counted paths; names are ordered by length, then by their ops read as base-k digits."""
    x101 = encode(PathEncoding(), nb101.space, nb101.structure)
    x201 = encode(PathEncoding(), nb201.space, nb201.structure)
    assert x101.shape == (423_624, PathEncoding().shape(nb101.space)["features"]) == (423_624, 364)
    assert x201.shape == (15_625, PathEncoding().shape(nb201.space)["features"]) == (15_625, 84)
    # INCEPTION: 0->1->6, 0->2->6, 0->3->4->6, 0->5->6; digits conv1x1 0, conv3x3 1, maxpool 2;
    # names of one op start at 1, of two ops at 1 + 3 = 4: [conv3x3, conv3x3] = 4 + 1 * 3 + 1
    (inception,) = PathEncoding().encode_archs(nb101.space, [INCEPTION])
    assert inception.nonzero().flatten().tolist() == [1, 2, 3, 8] and inception.sum() == 4
    assert torch.equal(inception, x101[nb101.index(INCEPTION)])
    # the same cell in another vertex order (the 3 -> 4 chain first): same paths
    matrix, ops = np.array(INCEPTION[0]), list(INCEPTION[1])
    order = [0, 3, 4, 1, 2, 5, 6]
    swapped = (matrix[np.ix_(order, order)], [ops[i] for i in order])
    assert not np.array_equal(swapped[0], matrix)
    assert torch.equal(PathEncoding().encode_archs(nb101.space, [swapped])[0], inception)
    # NB201 (digits skip 0, conv1x1 1, conv3x3 2, avgpool 3; names of 1 / 3 ops start at 0 / 4 + 16):
    # edge 0->3 skip is a path; 0->1->3 and 0->2->3 are cut by `none`; 0->1->2->3 is conv3x3, conv1x1, avgpool
    cell = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    row = x201[nb201.space.index(cell)]
    assert row.nonzero().flatten().tolist() == [0, 20 + 2 * 16 + 1 * 4 + 3] and row.sum() == 2
    # two two-op paths with the same ops count twice; a cell with no path through is all zeros
    assert x201[nb201.space.index("|skip_connect~0|+|skip_connect~0|none~1|+|none~0|skip_connect~1|skip_connect~2|")][4] == 2
    assert x201[nb201.space.index("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")].sum() == 0


@pytest.mark.parametrize(("encoding", "space"), [(e, s) for s in SPACES for e in [*(e() for e in ENCODINGS.values()), ColumnGroup("cell_stats")] if e.name in SPACES[s]().layouts()])
def test_no_archs_encode_to_no_rows_of_the_same_shape(encoding, space):
    space = get_space(space)
    none, one = (encoding.encode_archs(space, archs) for archs in ([], [space.sample(np.random.default_rng(0))]))
    if isinstance(one, DenseGraphs):
        none, one = none.x, one.x
    assert none.shape == (0, *one.shape[1:])


def test_unknown_encoding_and_unsupported_space():
    with pytest.raises(ValueError, match="unknown encoding 'gcn'"):
        get_encoding("gcn")
    from lightning_nas.spaces import NATSSizeSpace

    with pytest.raises(ValueError, match="nats_sss"):
        ReNASEncoding()(NATSSizeSpace(), {"channels": np.zeros((1, 5))})


def test_cell_stats_of_the_inception_cell(nb101):
    """Hand-counted on INCEPTION: 0->{1,2,3,5}, 3->4, {1,2,4,5}->6 (1 conv1x1, 2-4 conv3x3, 5 maxpool)."""
    (x,) = ColumnGroup("cell_stats").encode_archs(nb101.space, [INCEPTION]).numpy()
    stats = dict(zip(CELL_STATS, x.tolist()))
    expected = {"depth1_conv1x1": 1, "depth1_conv3x3": 2, "depth2_conv3x3": 1, "depth1_maxpool": 1, "depth2_maxpool": 0,
                "output_depth": 3, "output_distance": 2, "output_fan_in": 4, "input_fan_out": 4,
                "path_max_conv3x3": 2, "path_max_conv1x1": 1, "path_max_maxpool": 1,
                "edges_input_conv3x3": 2, "edges_conv3x3_conv3x3": 1, "edges_conv3x3_output": 2, "edges_input_output": 0,
                "two_hop_input_output": 3, "two_hop_input_conv3x3": 1, "two_hop_conv3x3_output": 1, "two_hop_conv1x1_output": 0}
    assert {k: stats[k] for k in expected} == expected
    assert sum(stats[k] for k in CELL_STATS if k.startswith("edges_")) == nb101.arch(nb101.index(INCEPTION)).num_edges


def test_cell_stats_do_not_depend_on_the_vertex_order(nb101):
    rows = np.random.default_rng(0).choice(len(nb101), 300, replace=False)
    structure = {k: v[rows] for k, v in nb101.structure.items()}
    copies = nb101.space.random_isomorphs(structure, 3, np.random.default_rng(1))
    stats = ColumnGroup("cell_stats")(nb101.space, structure)
    relabelled = ColumnGroup("cell_stats")(nb101.space, copies)
    assert torch.equal(relabelled, stats.repeat_interleave(3, dim=0))
    assert not np.array_equal(copies["adjacency"][::3], structure["adjacency"])  # the orders did change


def test_feature_groups_expand_to_named_columns(nb101, nb201):
    names = expand_features(["params", "cell_stats"], "nb101")
    assert names[0] == "params" and names[1:] == [f"cell_stats/{c}" for c in CELL_STATS]
    assert expand_features(["params", "cell_stats"], "nb201") == ["params", "cell_stats"]  # not a group there
    columns = ExtraFeatures(["params", "cell_stats"], nb101).values
    assert columns.shape == (len(nb101), len(names))
    assert np.array_equal(columns[:, 0], nb101.column("params").astype(np.float32))  # at the precision the model reads
    assert np.array_equal(columns[:, 1:], encode(ColumnGroup("cell_stats"), nb101.space, nb101.structure).numpy())
    with pytest.raises(ValueError, match="extra feature group 'cell_stats' is not defined for space 'nb201'"):
        ExtraFeatures(["cell_stats"], nb201)
    with pytest.raises(UnknownMetric, match="extra feature 'cell_stat' is neither a column group \\['cell_stats'\\], a zero-cost proxy nor a benchmark column"):
        ExtraFeatures(["cell_stat"], nb101)
    # an unknown dataset is named as such, not as an unknown feature (was: "extra feature 'params' is neither ...")
    with pytest.raises(UnknownMetric, match=r"^NB201Benchmark\(15625 archs, compact CSV\) has no dataset 'cifar11'"):
        ExtraFeatures(["params"], nb201, "cifar11")


def test_row_blocks_join_to_the_whole_computation():
    from lightning_nas.utils.row_blocks import in_row_blocks

    a, b = np.arange(20).reshape(10, 2), np.arange(10)
    assert np.array_equal(in_row_blocks(lambda x, y: x * y[:, None], a, b, rows=3), a * b[:, None])
    joined = in_row_blocks(lambda x, y: {"sum": x.sum(1), "y": y}, a, b, rows=4)
    assert np.array_equal(joined["sum"], a.sum(1)) and np.array_equal(joined["y"], b)
    assert in_row_blocks(lambda x: x[:, :1], np.zeros((0, 5))).shape == (0, 1)  # no rows: one empty call, same trailing shape

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from lightning_nas.encodings import GraphEncoding, OneHotEncoding, ReNASEncoding, encode, get_encoding
from lightning_nas.spaces import nb101_network
from lightning_nas.spaces.nb201 import OPS

from test_spaces import INCEPTION


def test_params_sum_equals_benchmark_params_for_every_nb101_arch(nb101):
    """Per-vertex params summed over the 9 cells + stem + classifier = the benchmark's params."""
    adjacency, ops = nb101_network.to_output_last(nb101.structure["adjacency"], nb101.structure["ops"])
    assert np.array_equal(nb101_network.total_params(adjacency, ops), nb101.column("params"))


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
    total = per_vertex + nb101_network.STEM_PARAMS + nb101_network.CLASSIFIER_PARAMS
    assert total == pytest.approx(2_694_282, rel=1e-6)
    # two stacks deeper a vertex has 4x the channels, so ~16x the conv params
    assert t[17].sum().item() == pytest.approx(16 * t[10].sum().item(), rel=0.02)


def test_encode_cache_gives_identical_tensors(nb201):
    first = encode(ReNASEncoding(), nb201.space, nb201.structure)
    again = encode(ReNASEncoding(), nb201.space, nb201.structure)
    assert first.shape == (15_625, 7, 8, 8) and torch.equal(first, again)


def test_encode_archs_matches_the_table_encoding(nb101):
    rows = [0, 5, 67206]
    table = encode(ReNASEncoding(), nb101.space, nb101.structure)[rows]
    fresh = ReNASEncoding().encode_archs(nb101.space, [nb101.arch(r) for r in rows])
    assert torch.allclose(table, fresh)


def test_graph_batches_match_single_graphs(nb101, nb201):
    for bench, features in ((nb101, 5 + 6), (nb201, 7 + 6)):  # op one-hot + per-stack params/FLOPs
        graphs = encode(GraphEncoding(), bench.space, bench.structure)
        rows = [3, 1000, 42]
        batch = graphs.batch(rows)
        expected = Batch.from_data_list([graphs[r] for r in rows])
        assert isinstance(batch, Batch) and batch.num_graphs == 3 and batch.x.shape[1] == features
        assert torch.equal(batch.x, expected.x) and torch.equal(batch.edge_index, expected.edge_index)
        assert torch.equal(batch.batch, expected.batch)
    g = encode(GraphEncoding(), nb101.space, nb101.structure)[nb101.index(INCEPTION)]
    assert g.num_nodes == 7 and g.edge_index.shape[1] == 9


def test_nb201_graph_moves_ops_onto_nodes(nb201):
    g = encode(GraphEncoding(), nb201.space, nb201.structure)[6111]
    ops = nb201.space.ops(nb201.keys[6111])
    assert g.num_nodes == 8
    assert g.x[0, 0] == 1 and g.x[7, 6] == 1  # input, output
    assert [OPS[int(g.x[i, 1:6].argmax())] for i in range(1, 7)] == list(ops)


def test_onehot_sizes_and_distinctness(nb101, nb201):
    x101 = encode(OneHotEncoding(), nb101.space, nb101.structure)
    x201 = encode(OneHotEncoding(), nb201.space, nb201.structure)
    assert x101.shape == (423_624, 36) and x201.shape == (15_625, 30)
    assert (x201.sum(1) == 6).all()
    assert torch.unique(x201, dim=0).shape[0] == 15_625


def test_unknown_encoding_and_unsupported_space():
    with pytest.raises(ValueError, match="unknown encoding 'gcn'"):
        get_encoding("gcn")
    from lightning_nas.spaces import NATSSizeSpace

    with pytest.raises(ValueError, match="nats_sss"):
        ReNASEncoding()(NATSSizeSpace(), {"channels": np.zeros((1, 5))})

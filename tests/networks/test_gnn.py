"""The graph network: shapes, config round trip, equivariance to node relabelling, the invariant loss."""

from __future__ import annotations

import json

import pytest
import torch

from inverselab.data.graphs import StochasticBlockModel, edges_to_adjacency
from inverselab.networks import NETWORKS, GraphNet
from inverselab.networks.gnn import permutation_invariant_loss


def _graph(n=400, seed=0):
    return StochasticBlockModel.from_degree(3.0, 5.0, n).sample(generator=seed)


def test_shapes_and_config_round_trip():
    net = GraphNet(q=3, features=6, num_layers=2, num_powers=2)
    _, graph = _graph()
    assert net(graph).shape == (1, 400, 3)
    config = json.loads(json.dumps(net.config))
    twin = NETWORKS["gnn"](**config)
    twin.load_state_dict(net.state_dict())
    torch.testing.assert_close(twin(graph), net(graph))


def test_equivariant_to_node_relabelling():
    torch.manual_seed(0)
    net = GraphNet(features=8, num_layers=3).double()
    _, graph = _graph()
    perm = torch.randperm(400, generator=torch.Generator().manual_seed(3))  # new node i is old node perm[i]
    inverse = torch.argsort(perm)
    edges = inverse[graph.indices()]
    relabelled = edges_to_adjacency(edges[:, edges[0] < edges[1]], 400)
    torch.testing.assert_close(net(relabelled)[0], net(graph)[0][perm])


def test_permutation_invariant_loss():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 50, 3, generator=gen)
    labels = torch.randint(3, (2, 50), generator=gen)
    loss = permutation_invariant_loss(logits, labels)
    swapped = torch.tensor([2, 0, 1])[labels]
    torch.testing.assert_close(permutation_invariant_loss(logits[..., [2, 0, 1]], swapped), loss)
    plain = torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels)
    assert float(loss) <= float(plain) + 1e-6
    with pytest.raises(ValueError, match=r"logits must be \(B, N, q\)"):
        permutation_invariant_loss(logits[0], labels)


def test_bad_arguments():
    with pytest.raises(ValueError, match="features must be even"):
        GraphNet(features=5)
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        GraphNet(num_layers=0)
    with pytest.raises(ValueError, match="sparse COO adjacency"):
        GraphNet(features=4, num_layers=1)(torch.zeros(5, 5))

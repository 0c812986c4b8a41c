"""The SBM generator: its statistics (mean degree, in-group edge fraction), exactness, speed and errors."""

from __future__ import annotations

import math
import time
import warnings

import pytest
import torch

from inverselab.data.graphs import (
    StochasticBlockModel,
    check_graph,
    edges_to_adjacency,
    kesten_stigum_threshold,
    sbm_affinities,
    stochastic_block_model,
)


@pytest.mark.parametrize(("q", "c_in", "c_out"), [(2, 5.0, 1.0), (3, 6.0, 1.5), (2, 1.0, 5.0)])
def test_mean_degree_and_in_group_fraction(q, c_in, c_out):
    n = 30_000
    labels, edges = stochastic_block_model(n, q, c_in, c_out, generator=1)
    c = (c_in + (q - 1) * c_out) / q
    num_edges = edges.shape[1]
    # E is (nearly) Poisson with mean cN/2: the mean degree 2E/N has std sqrt(2c/N); 5 sigma.
    assert abs(2 * num_edges / n - c) < 5 * math.sqrt(2 * c / n)
    # Each edge is in-group with probability f = c_in / (c_in + (q - 1) c_out): binomial, 5 sigma.
    f = c_in / (c_in + (q - 1) * c_out)
    same = float((labels[edges[0]] == labels[edges[1]]).double().mean())
    assert abs(same - f) < 5 * math.sqrt(f * (1 - f) / num_edges)
    # equal groups (up to one node)
    sizes = torch.bincount(labels, minlength=q)
    assert int(sizes.max() - sizes.min()) <= 1


def test_simple_graph_and_determinism():
    labels, edges = stochastic_block_model(2000, 2, 8.0, 2.0, generator=5)
    assert edges.dtype == torch.int64 and labels.dtype == torch.int64
    assert bool((edges[0] < edges[1]).all())  # no self-loops, each edge once
    assert torch.unique(edges[0] * 2000 + edges[1]).numel() == edges.shape[1]  # no multi-edges
    again = stochastic_block_model(2000, 2, 8.0, 2.0, generator=5)
    assert torch.equal(labels, again[0]) and torch.equal(edges, again[1])
    other = stochastic_block_model(2000, 2, 8.0, 2.0, generator=6)
    assert not torch.equal(labels, other[0])


def test_large_sparse_graph_is_fast():
    start = time.perf_counter()
    model = StochasticBlockModel.from_degree(3.0, 4.0, 50_000)
    labels, graph = model.sample(generator=0)
    elapsed = time.perf_counter() - start
    assert graph.layout == torch.sparse_coo and graph.shape == (50_000, 50_000)
    assert abs(graph.indices().shape[1] / 50_000 - 3.0) < 0.05  # both orientations stored: nnz = 2E
    assert elapsed < 5.0, f"sampling N = 50 000 took {elapsed:.1f} s"


def test_adjacency_is_symmetric():
    a = edges_to_adjacency(torch.tensor([[0, 1, 3], [2, 2, 1]]), 4)
    dense = a.to_dense()
    assert torch.equal(dense, dense.T)
    assert float(dense.sum()) == 6 and float(dense.diagonal().sum()) == 0


def test_model_record():
    m = StochasticBlockModel.from_degree(3.0, 4.0, 100)
    assert (m.c_in, m.c_out, m.c, m.in_shape) == (5.0, 1.0, 3.0, (100,))
    assert m.affinity.tolist() == [[5.0, 1.0], [1.0, 5.0]]
    assert math.isclose(m.snr, 16 / 12)
    assert math.isclose(kesten_stigum_threshold(3.0), 2 * math.sqrt(3))
    assert sbm_affinities(3.0, 0.0, q=3) == (3.0, 3.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="c_in must be >= 0"):
        stochastic_block_model(100, 2, -1.0, 1.0)
    with pytest.raises(ValueError, match="c_out must be >= 0"):
        StochasticBlockModel(2, 1.0, -0.5, 100)
    with pytest.raises(ValueError, match="q must be >= 2"):
        stochastic_block_model(100, 1, 3.0, 1.0)
    with pytest.raises(ValueError, match="num_nodes must be >= 2"):
        stochastic_block_model(1, 2, 3.0, 1.0)
    with pytest.raises(ValueError, match="at most N / q"):
        stochastic_block_model(10, 2, 6.0, 1.0)
    with pytest.raises(ValueError, match="must not both be 0"):
        stochastic_block_model(100, 2, 0.0, 0.0)
    with pytest.raises(TypeError, match="num_nodes must be an integer"):
        stochastic_block_model(100.5, 2, 3.0, 1.0)
    with pytest.raises(ValueError, match="gap must be in"):
        sbm_affinities(3.0, 7.0)
    with pytest.warns(UserWarning, match="c_out = 0"):
        labels, edges = stochastic_block_model(1000, 2, 6.0, 0.0)
    assert bool((labels[edges[0]] == labels[edges[1]]).all())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stochastic_block_model(1000, 2, 1.0, 5.0)  # disassortative: fine, no warning
    with pytest.raises(ValueError, match=r"edges must be a \(2, E\) integer tensor"):
        edges_to_adjacency(torch.zeros(3, 2, dtype=torch.long), 4)
    with pytest.raises(ValueError, match=r"node indices in \[0, 4\)"):
        edges_to_adjacency(torch.tensor([[0], [4]]), 4)
    with pytest.raises(ValueError, match="sparse COO adjacency"):
        check_graph("y", torch.zeros(3, 3))
    with pytest.raises(TypeError, match="y must be a torch.Tensor"):
        check_graph("y", [[0, 1], [1, 0]])

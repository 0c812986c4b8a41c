"""Community detection solvers: spectral embeddings (adjacency, Laplacian, Bethe Hessian), k-means, BP.

The overlap thresholds sit well under the values measured at N = 5 000 (seed 0 to 2): at c = 3 and
c_in - c_out = 5, BP 0.80-0.82, Bethe Hessian 0.76-0.79; at c_in - c_out = 2 (far below the Kesten-Stigum
threshold 3.46) every method stays under 0.06.
"""

from __future__ import annotations

import math

import pytest
import torch

from inverselab.data.graphs import StochasticBlockModel, edges_to_adjacency
from inverselab.metrics import overlap
from inverselab.solvers.community import (
    bethe_hessian_radius,
    kmeans,
    sbm_belief_propagation,
    spectral_embedding,
    spectral_labels,
)


@pytest.fixture(scope="module")
def above():
    model = StochasticBlockModel.from_degree(3.0, 5.0, 5000)
    labels, graph = model.sample(generator=0)
    return model, labels, graph


@pytest.fixture(scope="module")
def below():
    model = StochasticBlockModel.from_degree(3.0, 2.0, 5000)
    labels, graph = model.sample(generator=0)
    return model, labels, graph


def test_bethe_hessian_and_bp_detect_above_the_threshold(above):
    model, labels, graph = above
    bh = spectral_labels(graph, 2, "bethe-hessian")
    assert float(overlap(bh.unsqueeze(0), labels)[0]) > 0.65
    res = sbm_belief_propagation(graph, model, generator=0)
    assert res.converged and res.x.shape == (1, 5000, 2)
    torch.testing.assert_close(res.x.sum(-1), torch.ones(1, 5000, dtype=torch.float64))
    assert float(overlap(res.x.argmax(-1), labels)[0]) > 0.7


def test_nothing_detected_far_below_the_threshold(below):
    model, labels, graph = below
    for matrix in ("bethe-hessian", "adjacency", "laplacian"):
        assert float(overlap(spectral_labels(graph, 2, matrix).unsqueeze(0), labels)[0]) < 0.1, matrix
    res = sbm_belief_propagation(graph, model, generator=0)
    assert float(overlap(res.x.argmax(-1), labels)[0]) < 0.1


def test_eigenpairs(above):
    _, _, graph = above
    import scipy.sparse as sp

    idx = graph.indices().numpy()
    a = sp.csr_matrix(
        (torch.ones(idx.shape[1], dtype=torch.float64).numpy(), (idx[0], idx[1])), shape=graph.shape
    )
    d = a.sum(1).A.ravel()
    r = bethe_hessian_radius(graph)
    assert math.isclose(r, math.sqrt((d**2).sum() / d.sum() - 1))
    h = sp.diags(r * r - 1 + d) - r * a
    values, vectors = spectral_embedding(graph, 3, "bethe-hessian")
    assert values[0] < values[1] < 0  # two negative eigenvalues: two communities
    residual = h @ vectors.numpy() - vectors.numpy() * values.numpy()
    assert abs(residual).max() < 1e-4
    values, vectors = spectral_embedding(graph, 2, "adjacency")
    assert values[0] >= values[1]
    assert abs(a @ vectors.numpy() - vectors.numpy() * values.numpy()).max() < 1e-4
    values, _ = spectral_embedding(graph, 2, "laplacian")
    assert abs(float(values[0])) < 1e-6  # the normalized Laplacian's smallest eigenvalue is 0


def test_bp_on_a_tree_is_exact():
    # On a tree BP is exact; a 3-node path with c_in >> c_out: the ends agree with the middle.
    graph = edges_to_adjacency(torch.tensor([[0, 1], [1, 2]]), 3)
    with pytest.warns(UserWarning, match="c_out = 0"):
        StochasticBlockModel(2, 1.5, 0.0, 3)
    model = StochasticBlockModel(2, 1.5, 0.01, 3)
    res = sbm_belief_propagation(graph, model, generator=0, tol=1e-12, num_iter=200)
    # The exact marginals are uniform by symmetry (no field breaks it); BP finds them.
    torch.testing.assert_close(res.x, torch.full((1, 3, 2), 0.5, dtype=torch.float64), atol=1e-6, rtol=0)


def test_kmeans_and_q3():
    model = StochasticBlockModel(3, 12.0, 1.0, 3000)
    labels, graph = model.sample(generator=2)
    found = spectral_labels(graph, 3, "bethe-hessian")
    assert set(found.tolist()) == {0, 1, 2}
    assert float(overlap(found.unsqueeze(0), labels, 3)[0]) > 0.6
    pts = torch.cat(
        [torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 0.1 + k for k in (0, 5)]
    )
    got = kmeans(pts, 2, generator=1)
    assert len(set(got[:50].tolist())) == 1 and len(set(got[50:].tolist())) == 1 and got[0] != got[50]


def test_bad_arguments(above):
    model, _, graph = above
    with pytest.raises(ValueError, match="matrix must be one of"):
        spectral_labels(graph, 2, "random-walk")
    with pytest.raises(ValueError, match="clustering='sign' needs q = 2"):
        spectral_labels(graph, 3, clustering="sign")
    with pytest.raises(ValueError, match="r applies only to matrix='bethe-hessian'"):
        spectral_embedding(graph, 2, "adjacency", r=1.0)
    with pytest.raises(ValueError, match="sparse COO adjacency"):
        spectral_labels(graph.to_dense()[:10, :10], 2)
    with pytest.raises(TypeError, match="model must be a StochasticBlockModel"):
        sbm_belief_propagation(graph, (2, 5.5, 0.5))
    with pytest.raises(ValueError, match="model.num_nodes must equal the graph's 5000 nodes"):
        sbm_belief_propagation(graph, StochasticBlockModel(2, 5.5, 0.5, 100))
    with pytest.raises(ValueError, match="damping must be < 1"):
        sbm_belief_propagation(graph, model, damping=1.0)
    with pytest.raises(ValueError, match="at least one edge"):
        bethe_hessian_radius(edges_to_adjacency(torch.empty(2, 0, dtype=torch.long), 3))

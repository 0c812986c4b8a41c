"""Community detection methods in the ``method(y, A)`` form.

For community detection the measurement ``y`` is the observed graph, a symmetric sparse COO adjacency matrix
``(N, N)``, and ``A`` is the forward model, a :class:`~inverselab.data.graphs.StochasticBlockModel`: the
spectral methods and the GNN read only its number of groups ``q``; belief propagation also reads the
affinities ``c_in``, ``c_out`` (it is the Bayes-optimal method when they are the true ones). Every method
returns the estimated labels ``x`` of shape ``(1, N)`` (``int64`` in ``[0, q)``; labels are defined up to a
permutation of the groups: score them with :func:`inverselab.metrics.overlap`).

Example:
    >>> from inverselab.data.graphs import StochasticBlockModel
    >>> from inverselab.metrics import overlap
    >>> A = StochasticBlockModel.from_degree(3.0, 5.0, 3000)
    >>> x_true, y = A.sample(generator=0)
    >>> bool(overlap(bethe_hessian(y, A), x_true) > 0.5)
    True
"""

from __future__ import annotations

import torch

from .._checks import check_number

__all__ = ["spectral_adjacency", "spectral_laplacian", "bethe_hessian", "sbm_bp", "gnn"]


def _check(y: object, A: object) -> torch.Tensor:
    from ..data.graphs import StochasticBlockModel, check_graph

    y = check_graph("y", y)
    if not isinstance(A, StochasticBlockModel):
        raise TypeError(
            f"A must be a StochasticBlockModel (the graph's forward model) for community detection, "
            f"got {type(A).__name__}"
        )
    if A.num_nodes != y.shape[0]:
        raise ValueError(f"A.num_nodes must equal the number of nodes of y ({y.shape[0]}), got {A.num_nodes}")
    return y


def _spectral(y, A, matrix: str, seed: int, clustering: str, r: float | None = None) -> torch.Tensor:
    from ..solvers.community import spectral_labels

    y = _check(y, A)
    seed = check_number("seed", seed, low=0, integer=True)
    return spectral_labels(y, A.q, matrix, r=r, clustering=clustering, seed=seed).unsqueeze(0)


def spectral_adjacency(y: torch.Tensor, A, *, clustering: str = "auto", seed: int = 0) -> torch.Tensor:
    """Spectral clustering on the adjacency matrix: its ``q`` leading eigenvectors (sign of the second for
    ``q = 2``, k-means otherwise). On sparse graphs the leading eigenvectors localize on high-degree nodes,
    so it fails well above the Kesten-Stigum threshold (Krzakala et al., PNAS 110(52), 2013)."""
    return _spectral(y, A, "adjacency", seed, clustering)


def spectral_laplacian(y: torch.Tensor, A, *, clustering: str = "auto", seed: int = 0) -> torch.Tensor:
    """Spectral clustering on the normalized Laplacian ``I - D^-1/2 A D^-1/2``: its ``q`` smallest
    eigenvectors (Shi & Malik, IEEE TPAMI 2000; Ng, Jordan & Weiss, NIPS 2001). On sparse graphs with many
    small connected components (``c = 3``) they mark components, not communities."""
    return _spectral(y, A, "laplacian", seed, clustering)


def bethe_hessian(
    y: torch.Tensor, A, *, r: float | None = None, clustering: str = "auto", seed: int = 0
) -> torch.Tensor:
    """Spectral clustering on the Bethe Hessian ``H(r) = (r^2 - 1) I - r A + D``,
    ``r = sqrt(sum d^2 / sum d - 1)``: the eigenvectors of its ``q`` most negative eigenvalues (Saade,
    Krzakala & Zdeborová, "Spectral clustering of graphs with the Bethe Hessian", NeurIPS 2014). Detects
    down to the Kesten-Stigum threshold on sparse graphs."""
    return _spectral(y, A, "bethe-hessian", seed, clustering, r)


def sbm_bp(
    y: torch.Tensor,
    A,
    *,
    damping: float = 0.5,
    num_iter: int = 1000,
    tol: float = 1e-5,
    seed: int = 0,
    progress: bool = False,
) -> torch.Tensor:
    """Belief propagation for the SBM with ``A``'s parameters; the labels maximize the marginals (Decelle,
    Krzakala, Moore & Zdeborová, Phys. Rev. E 84, 066106, 2011). See
    :func:`inverselab.solvers.community.sbm_belief_propagation`."""
    from ..solvers.community import sbm_belief_propagation

    y = _check(y, A)
    seed = check_number("seed", seed, low=0, integer=True)
    res = sbm_belief_propagation(
        y, A, damping=damping, num_iter=num_iter, tol=tol, generator=seed, progress=progress
    )
    return res.x.argmax(-1)


def gnn(y: torch.Tensor, A, *, weights: str = "gnn-sbm-2groups") -> torch.Tensor:
    """A trained :class:`~inverselab.networks.GraphNet` (shipped weights by name, or a path): the group of
    the largest logit (Chen, Li & Bruna, ICLR 2019, simplified). ``A.q`` must match the network's."""
    from ..weights import load_model

    y = _check(y, A)
    net = load_model(weights)
    if getattr(net, "q", None) != A.q:
        raise ValueError(f"weights {weights!r} are for q = {getattr(net, 'q', None)} groups, but A.q = {A.q}")
    with torch.no_grad():
        return net(y).argmax(-1)

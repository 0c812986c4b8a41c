"""Random graphs with planted communities: the sparse stochastic block model (SBM).

Community detection as an inverse problem: the unknown ``x`` is the group label of every node, the forward
model is the SBM (an edge between nodes ``i`` and ``j`` appears independently with probability
``c_{x_i x_j} / N``), and the measurement ``y`` is the observed graph. :class:`StochasticBlockModel` is that
forward model: it plays the part of the operator ``A`` in ``method(y, A)`` (the community-detection methods
read its ``q`` and, for belief propagation, its affinities ``c_in``, ``c_out``); the graph ``y`` is a
symmetric ``(N, N)`` ``torch.sparse_coo_tensor`` (no self-loops, no multi-edges) and the labels ``x`` a
``(1, N)`` ``int64`` tensor.

Conventions (Decelle, Krzakala, Moore & Zdeborová, "Asymptotic analysis of the stochastic block model for
modular networks and its algorithmic applications", Phys. Rev. E 84, 066106, 2011): ``q`` groups of equal
size ``N / q`` (up to one node), affinity ``c_in`` inside a group and ``c_out`` across groups, so the average
degree is ``c = (c_in + (q - 1) c_out) / q`` and a fraction ``c_in / (c_in + (q - 1) c_out)`` of the edges
join nodes of the same group. Detection better than chance is possible (by efficient algorithms) above the
Kesten-Stigum threshold ``|c_in - c_out| > q sqrt(c)`` (:func:`kesten_stigum_threshold`).

Sampling is exact and takes ``O(N + E)`` time and memory: for every pair of groups the number of edges is
drawn from its binomial law, then that many distinct node pairs are drawn uniformly (duplicates and
self-loops redrawn), which is the same law as flipping one coin per pair. Nothing of size ``N x N`` is built
(``N = 50 000``, ``c = 3``: about 30 ms).

Example:
    >>> model = StochasticBlockModel(2, 5.0, 1.0, 1000)
    >>> labels, graph = model.sample(generator=0)
    >>> tuple(labels.shape), tuple(graph.shape), model.c
    ((1, 1000), (1000, 1000), 3.0)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from .._checks import check_number
from ..noise import make_generator

__all__ = [
    "StochasticBlockModel",
    "stochastic_block_model",
    "sbm_affinities",
    "kesten_stigum_threshold",
    "edges_to_adjacency",
    "check_graph",
]


def kesten_stigum_threshold(c: float, q: int = 2) -> float:
    """The Kesten-Stigum threshold ``q sqrt(c)`` on ``|c_in - c_out|`` for average degree ``c``.

    Above it, spectral methods on the Bethe Hessian or the non-backtracking matrix and belief propagation
    detect the communities better than chance (for ``q <= 4`` nothing can below it).

    Example:
        >>> round(kesten_stigum_threshold(3.0), 4)
        3.4641
    """
    c = check_number("c", c, low=0, low_inclusive=False)
    q = check_number("q", q, low=2, integer=True)
    return q * math.sqrt(c)


def sbm_affinities(c: float, gap: float, q: int = 2) -> tuple[float, float]:
    """``(c_in, c_out)`` with average degree ``c`` and ``c_in - c_out = gap``.

    From ``c = (c_in + (q - 1) c_out) / q``: ``c_out = c - gap / q``, ``c_in = c_out + gap``.

    Example:
        >>> sbm_affinities(3.0, 4.0)
        (5.0, 1.0)
    """
    c = check_number("c", c, low=0, low_inclusive=False)
    q = check_number("q", q, low=2, integer=True)
    gap = check_number("gap", gap)
    c_out = c - gap / q
    c_in = c_out + gap
    if c_out < 0 or c_in < 0:
        raise ValueError(
            f"gap must be in [{-c * q / (q - 1):g}, {c * q:g}] for c = {c:g}, q = {q} "
            f"(affinities must be >= 0), got {gap!r}"
        )
    return c_in, c_out


def _check_affinities(q: int, c_in: float, c_out: float, num_nodes: int) -> tuple[int, float, float, int]:
    q = check_number("q", q, low=2, integer=True)
    c_in = float(check_number("c_in", c_in, low=0))
    c_out = float(check_number("c_out", c_out, low=0))
    num_nodes = check_number("num_nodes", num_nodes, low=q, integer=True)
    group = num_nodes / q
    if c_in > group or c_out > group:
        raise ValueError(
            f"c_in and c_out must be at most N / q = {group:g} (they are expected degrees into one group), "
            f"got c_in={c_in:g}, c_out={c_out:g}"
        )
    if c_in == 0 and c_out == 0:
        raise ValueError("c_in and c_out must not both be 0 (the graph would have no edges)")
    if c_out == 0:
        warnings.warn(
            "c_out = 0: the groups are disconnected from each other, so the labels are only identifiable up "
            "to a permutation within each connected component (use a small c_out > 0)",
            UserWarning,
            stacklevel=3,
        )
    return q, c_in, c_out, num_nodes


def _pairs_within(nodes: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """``count`` distinct unordered pairs of distinct nodes of ``nodes``, uniformly: ``(2, count)``."""
    n = nodes.numel()
    found = torch.empty(2, 0, dtype=torch.int64)
    while found.shape[1] < count:
        need = count - found.shape[1]
        extra = need + int(0.01 * need) + 8  # a few spare draws for the rejected ones
        a = torch.randint(n, (extra,), generator=gen)
        b = torch.randint(n, (extra,), generator=gen)
        keep = a != b
        a, b = a[keep], b[keep]
        fresh = torch.stack([torch.minimum(a, b), torch.maximum(a, b)])
        found = _unique_pairs(torch.cat([found, fresh], dim=1), n)[:, :count]
    return nodes[found]


def _pairs_between(left: torch.Tensor, right: torch.Tensor, count: int, gen: torch.Generator) -> torch.Tensor:
    """``count`` distinct pairs ``(i in left, j in right)``, uniformly: ``(2, count)``."""
    n, m = left.numel(), right.numel()
    found = torch.empty(2, 0, dtype=torch.int64)
    while found.shape[1] < count:
        need = count - found.shape[1]
        extra = need + int(0.01 * need) + 8
        fresh = torch.stack(
            [torch.randint(n, (extra,), generator=gen), torch.randint(m, (extra,), generator=gen)]
        )
        found = _unique_pairs(torch.cat([found, fresh], dim=1), m)[:, :count]
    return torch.stack([left[found[0]], right[found[1]]])


def _unique_pairs(pairs: torch.Tensor, base: int) -> torch.Tensor:
    """Drop repeated columns of ``pairs``, keeping the first occurrence of each and the order of first
    occurrences (so truncating keeps a uniform sample)."""
    key = pairs[0] * base + pairs[1]
    _, inverse = torch.unique(key, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1 if key.numel() else 0,), key.numel(), dtype=torch.int64)
    first.scatter_reduce_(0, inverse, torch.arange(key.numel()), reduce="amin")
    return pairs[:, first.sort().values]


def stochastic_block_model(
    num_nodes: int,
    q: int,
    c_in: float,
    c_out: float,
    generator: torch.Generator | int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample planted labels and the edges of a sparse stochastic block model.

    The labels put ``N // q`` or ``N // q + 1`` nodes in each group, at uniformly random positions; each
    unordered pair ``{i, j}`` is an edge independently with probability ``c_in / N`` (same group) or
    ``c_out / N`` (different groups). Time and memory ``O(N + E)``.

    Reference: Decelle, Krzakala, Moore & Zdeborová, Phys. Rev. E 84, 066106 (2011).

    Args:
        num_nodes: Number of nodes ``N`` (at least ``q``).
        q: Number of groups (at least 2).
        c_in: Affinity inside a group (expected number of neighbours in one's own group), ``>= 0``.
        c_out: Affinity between groups, ``>= 0``; ``0`` warns (the groups are then disconnected, and each
            component's labels can be permuted independently). ``c_in < c_out`` (disassortative) is allowed.
        generator: A ``torch.Generator`` or an integer seed (``None`` means seed 0).

    Returns:
        ``(labels, edges)``: ``labels`` of shape ``(N,)`` (``int64`` in ``[0, q)``) and ``edges`` of shape
        ``(2, E)`` (``int64``), each undirected edge once with ``edges[0] < edges[1]``.

    Example:
        >>> labels, edges = stochastic_block_model(10_000, 2, 5.0, 1.0, generator=0)
        >>> round(2 * edges.shape[1] / 10_000, 1)  # average degree c = (5 + 1) / 2
        3.0
    """
    q, c_in, c_out, num_nodes = _check_affinities(q, c_in, c_out, num_nodes)
    gen = make_generator(generator)
    labels = torch.arange(num_nodes, dtype=torch.int64) % q
    labels = labels[torch.randperm(num_nodes, generator=gen)]
    order = torch.argsort(labels, stable=True)
    sizes = torch.bincount(labels, minlength=q).tolist()
    groups = list(torch.split(order, sizes))
    chunks = []
    for a in range(q):
        for b in range(a, q):
            if a == b:
                pairs, p = sizes[a] * (sizes[a] - 1) // 2, c_in / num_nodes
            else:
                pairs, p = sizes[a] * sizes[b], c_out / num_nodes
            if pairs == 0 or p == 0:
                continue
            count = int(torch.binomial(torch.tensor(float(pairs)), torch.tensor(p), generator=gen))
            if count == 0:
                continue
            if a == b:
                chunk = _pairs_within(groups[a], count, gen)
            else:
                chunk = _pairs_between(groups[a], groups[b], count, gen)
            chunks.append(torch.stack([chunk.min(0).values, chunk.max(0).values]))
    edges = torch.cat(chunks, dim=1) if chunks else torch.empty(2, 0, dtype=torch.int64)
    return labels, edges


def edges_to_adjacency(
    edges: torch.Tensor, num_nodes: int, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The symmetric ``(N, N)`` sparse COO adjacency matrix (coalesced, ones) of undirected ``edges``.

    Args:
        edges: ``(2, E)`` integer node pairs, each undirected edge once (either orientation).
        num_nodes: Number of nodes ``N``.
        dtype: Dtype of the stored ones.

    Example:
        >>> a = edges_to_adjacency(torch.tensor([[0, 1], [1, 2]]), 3)
        >>> a.to_dense().tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    num_nodes = check_number("num_nodes", num_nodes, low=1, integer=True)
    if not isinstance(edges, torch.Tensor) or edges.ndim != 2 or edges.shape[0] != 2:
        shape = tuple(edges.shape) if isinstance(edges, torch.Tensor) else type(edges).__name__
        raise ValueError(f"edges must be a (2, E) integer tensor, got {shape}")
    if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= num_nodes):
        raise ValueError(
            f"edges must hold node indices in [0, {num_nodes}), got [{edges.min()}, {edges.max()}]"
        )
    index = torch.cat([edges, edges.flip(0)], dim=1).long()
    values = torch.ones(index.shape[1], dtype=dtype)
    return torch.sparse_coo_tensor(index, values, (num_nodes, num_nodes), check_invariants=False).coalesce()


def check_graph(name: str, y: object) -> torch.Tensor:
    """Check that ``y`` is a square 2-D sparse COO adjacency matrix and return it coalesced.

    Example:
        >>> check_graph("y", edges_to_adjacency(torch.tensor([[0], [1]]), 2)).shape
        torch.Size([2, 2])
    """
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor (a sparse COO adjacency matrix), got {type(y).__name__}"
        )
    if y.layout != torch.sparse_coo or y.ndim != 2 or y.shape[0] != y.shape[1]:
        raise ValueError(
            f"{name} must be a square 2-D sparse COO adjacency matrix (N, N), got a {y.layout} tensor of "
            f"shape {tuple(y.shape)}"
        )
    return y.coalesce()


@dataclass(frozen=True)
class StochasticBlockModel:
    """The forward model of community detection: ``q`` equal groups, affinities ``c_in``, ``c_out``.

    Passed as ``A`` to the community-detection methods (``method(y, A)``, ``y`` the observed graph): the
    spectral methods read ``q``; belief propagation reads ``q``, ``c_in`` and ``c_out`` (it is Bayes-optimal
    with the true parameters). ``num_nodes`` (``N``) gives the label shape ``in_shape = (N,)``, the analogue
    of an operator's input shape.

    Attributes:
        q: Number of groups.
        c_in: Affinity inside a group.
        c_out: Affinity between groups.
        num_nodes: Number of nodes ``N``.

    Example:
        >>> StochasticBlockModel.from_degree(3.0, 4.0, 100)
        StochasticBlockModel(q=2, c_in=5.0, c_out=1.0, num_nodes=100)
    """

    q: int
    c_in: float
    c_out: float
    num_nodes: int

    def __post_init__(self):
        q, c_in, c_out, n = _check_affinities(self.q, self.c_in, self.c_out, self.num_nodes)
        object.__setattr__(self, "q", q)
        object.__setattr__(self, "c_in", c_in)
        object.__setattr__(self, "c_out", c_out)
        object.__setattr__(self, "num_nodes", n)

    @classmethod
    def from_degree(cls, c: float, gap: float, num_nodes: int, q: int = 2) -> StochasticBlockModel:
        """The model with average degree ``c`` and ``c_in - c_out = gap`` (see :func:`sbm_affinities`)."""
        c_in, c_out = sbm_affinities(c, gap, q)
        return cls(q, c_in, c_out, num_nodes)

    @property
    def c(self) -> float:
        """Average degree ``(c_in + (q - 1) c_out) / q``."""
        return (self.c_in + (self.q - 1) * self.c_out) / self.q

    @property
    def in_shape(self) -> tuple[int]:
        """Shape of the labels (without the batch dimension)."""
        return (self.num_nodes,)

    @property
    def affinity(self) -> torch.Tensor:
        """The ``(q, q)`` affinity matrix: ``c_in`` on the diagonal, ``c_out`` elsewhere (float64)."""
        c = torch.full((self.q, self.q), self.c_out, dtype=torch.float64)
        c.fill_diagonal_(self.c_in)
        return c

    @property
    def snr(self) -> float:
        """``(c_in - c_out)^2 / (q^2 c)``: 1 at the Kesten-Stigum threshold."""
        return (self.c_in - self.c_out) ** 2 / (self.q**2 * self.c)

    def sample(self, generator: torch.Generator | int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Planted labels ``(1, N)`` and the observed graph (sparse ``(N, N)`` adjacency)."""
        labels, edges = stochastic_block_model(self.num_nodes, self.q, self.c_in, self.c_out, generator)
        return labels.unsqueeze(0), edges_to_adjacency(edges, self.num_nodes)

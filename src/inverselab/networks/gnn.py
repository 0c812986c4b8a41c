"""A small graph neural network for community detection (plain torch, sparse adjacency matrices).

A simplified version of the GNN of Chen, Li & Bruna ("Supervised community detection with line graph neural
networks", ICLR 2019), without the line graph: every layer mixes, per node, the features ``h``, ``D h`` and
the powers ``A h``, ``A^2 h``, ... ``A^{2^(J-1)} h`` of the adjacency matrix,

``z = W_0 h + W_d (D h) + sum_j W_j (A^{2^j} h) + b``,   ``h <- normalize([relu(z_1), z_2])``,

where half of the channels pass a ReLU and half stay linear (so the network can run power iterations, the
mechanism of spectral methods), and ``normalize`` centres and scales every channel over the nodes of the graph
(a per-graph instance norm: it removes the constant mode, as deflation does). The input is the centred,
scaled degree. The output is one logit per group and node. A graph is unlabelled, so the network is trained
with a loss that is the minimum over relabellings of the groups (:func:`permutation_invariant_loss`).

Example:
    >>> import torch
    >>> from inverselab.data.graphs import StochasticBlockModel
    >>> labels, graph = StochasticBlockModel(2, 5.0, 1.0, 300).sample(generator=0)
    >>> net = GraphNet(q=2, features=8, num_layers=3)
    >>> tuple(net(graph).shape)
    (1, 300, 2)
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from .._checks import check_number

__all__ = ["GraphNet", "permutation_invariant_loss"]


def _normalize(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Centre and scale each channel over the nodes: ``(N, F)``."""
    h = h - h.mean(0, keepdim=True)
    return h / (h.pow(2).mean(0, keepdim=True) + eps).sqrt()


class GraphNet(nn.Module):
    """Message passing with the degree and powers of the adjacency matrix; outputs group logits per node."""

    def __init__(self, q: int = 2, features: int = 16, num_layers: int = 30, num_powers: int = 3):
        """
        Args:
            q: Number of groups (output channels).
            features: Channels per layer (even: half pass a ReLU, half stay linear).
            num_layers: Message-passing layers.
            num_powers: ``J``: each layer uses ``A^1, A^2, ..., A^{2^(J-1)}`` (``J >= 1``).
        """
        super().__init__()
        self.q = check_number("q", q, low=2, integer=True)
        self.features = check_number("features", features, low=2, integer=True)
        if self.features % 2:
            raise ValueError(f"features must be even (half ReLU, half linear channels), got {features}")
        self.num_layers = check_number("num_layers", num_layers, low=1, integer=True)
        self.num_powers = check_number("num_powers", num_powers, low=1, integer=True)
        terms = 2 + self.num_powers  # h, D h, A h, A^2 h, ...
        widths = [1] + [self.features] * self.num_layers
        self.layers = nn.ModuleList(nn.Linear(terms * w, self.features) for w in widths[:-1])
        self.head = nn.Linear(self.features, self.q)

    @property
    def config(self) -> dict:
        return {
            "q": self.q,
            "features": self.features,
            "num_layers": self.num_layers,
            "num_powers": self.num_powers,
        }

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """Group logits ``(1, N, q)`` for the sparse ``(N, N)`` adjacency matrix ``y``."""
        from ..data.graphs import check_graph

        a = check_graph("y", y)
        dtype = self.head.weight.dtype
        a = torch.sparse_coo_tensor(
            a.indices(),
            torch.ones(a.indices().shape[1], dtype=dtype, device=a.device),
            a.shape,
            check_invariants=False,
        ).coalesce()
        degree = torch.sparse.sum(a, dim=1).to_dense().unsqueeze(1)
        scale = degree.mean().clamp(min=1e-6)  # A / c and D / c keep the terms' sizes comparable
        degree = degree / scale
        h = _normalize(degree)
        half = self.features // 2
        for layer in self.layers:
            terms = [h, degree * h]
            p = h
            for j in range(self.num_powers):  # A h, A^2 h, A^4 h, ...
                for _ in range(2 ** (j - 1) if j > 0 else 1):
                    p = torch.sparse.mm(a, p) / scale
                terms.append(p)
            z = layer(torch.cat(terms, dim=1))
            h = _normalize(torch.cat([torch.relu(z[:, :half]), z[:, half:]], dim=1))
        return self.head(h).unsqueeze(0)


def permutation_invariant_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy minimized over the ``q!`` relabellings of the groups (Chen, Li & Bruna, ICLR 2019).

    Args:
        logits: ``(B, N, q)`` group logits.
        labels: ``(B, N)`` true labels in ``[0, q)``.

    Returns:
        A scalar: the mean over the batch of each item's best-relabelling mean cross-entropy.

    Example:
        >>> logits = torch.tensor([[[5.0, -5.0], [-5.0, 5.0]]])
        >>> float(permutation_invariant_loss(logits, torch.tensor([[1, 0]]))) < 1e-3
        True
    """
    if logits.ndim != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be (B, N, q) and labels (B, N), got {tuple(logits.shape)} and {tuple(labels.shape)}"
        )
    q = logits.shape[2]
    logp = torch.log_softmax(logits, dim=2)
    losses = []
    for perm in itertools.permutations(range(q)):
        relabelled = torch.tensor(perm, device=labels.device)[labels]
        losses.append(-logp.gather(2, relabelled.unsqueeze(2)).squeeze(2).mean(1))
    return torch.stack(losses, dim=1).amin(1).mean()

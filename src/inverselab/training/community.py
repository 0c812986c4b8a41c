"""Training the graph network for community detection on generated SBM graphs.

Every step samples a fresh graph of the preset's model family (``q`` groups, average degree ``c``) with a
random ``c_in - c_out`` drawn uniformly from a range above the Kesten-Stigum threshold, and takes one Adam
step on the permutation-invariant cross-entropy (:func:`~inverselab.networks.gnn.permutation_invariant_loss`).
Validation graphs (fixed seeds, disjoint from the training seeds) report the overlap after every epoch. The
final weights are saved as ``out/model.safetensors`` with a sidecar recording the command, the seeds, the
data and the metrics. ``inverselab train sbm-2groups --model gnn`` runs it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._checks import check_number

__all__ = ["GraphTrainConfig", "train_graph_network", "GRAPH_MODELS"]

#: ``inverselab train --model`` names handled here.
GRAPH_MODELS = ("gnn",)

#: The validation gaps ``c_in - c_out`` (reported per epoch and recorded in the sidecar).
VAL_GAPS = (4.0, 5.0)


@dataclass
class GraphTrainConfig:
    """What :func:`train_graph_network` trains.

    Attributes:
        preset: A graph preset (its ``q`` and average degree ``c`` define the model family).
        network_config: Keyword arguments of :class:`~inverselab.networks.GraphNet` (``q`` is the preset's).
        epochs: Epochs (validation after each).
        steps_per_epoch: Adam steps (one fresh graph each) per epoch.
        lr: Adam learning rate (constant).
        num_nodes: Nodes of each training graph.
        gap_range: ``(low, high)``: each training graph's ``c_in - c_out`` is uniform in this range.
        val_nodes: Nodes of each validation graph.
        val_graphs: Validation graphs per validation gap (:data:`VAL_GAPS`).
        seed: Seeds the initialization and the training graphs.
    """

    preset: str = "sbm-2groups"
    network_config: dict[str, Any] = field(default_factory=dict)
    epochs: int = 10
    steps_per_epoch: int = 100
    lr: float = 3e-3
    num_nodes: int = 1000
    gap_range: tuple[float, float] = (4.0, 6.0)
    val_nodes: int = 2000
    val_graphs: int = 4
    seed: int = 0

    def check(self) -> GraphTrainConfig:
        from ..presets import get_preset

        p = get_preset(self.preset)
        if p.kind != "graph":
            raise ValueError(
                f"preset must be a graph preset for --model gnn, got {p.name!r} of kind {p.kind!r}"
            )
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("steps_per_epoch", self.steps_per_epoch, low=1, integer=True)
        check_number("lr", self.lr, low=0, low_inclusive=False)
        check_number("num_nodes", self.num_nodes, low=10, integer=True)
        check_number("val_nodes", self.val_nodes, low=10, integer=True)
        check_number("val_graphs", self.val_graphs, low=1, integer=True)
        check_number("seed", self.seed, low=0, integer=True)
        low, high = self.gap_range
        check_number("gap_range low", low, low=0)
        check_number("gap_range high", high, low=low)
        return self


def _model(preset: str, num_nodes: int, gap: float):
    from ..presets import get_preset

    p = get_preset(preset)
    base = p.build((num_nodes,), None)[0]
    return type(base).from_degree(base.c, gap, num_nodes, base.q)


def _validate(net, config: GraphTrainConfig) -> dict[str, float]:
    from ..metrics import overlap

    net.eval()
    out = {}
    with torch.no_grad():
        for gap in VAL_GAPS:
            model = _model(config.preset, config.val_nodes, gap)
            values = []
            for t in range(config.val_graphs):
                labels, graph = model.sample(generator=10**9 + 1000 * int(gap * 10) + t)  # not training seeds
                values.append(float(overlap(net(graph).argmax(-1), labels, model.q)[0]))
            out[f"val_overlap_gap{gap:g}"] = sum(values) / len(values)
    net.train()
    return out


def train_graph_network(
    config: GraphTrainConfig,
    out: str | Path | None = None,
    *,
    command: str = "",
    progress: bool = False,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train a :class:`~inverselab.networks.GraphNet` on generated SBM graphs (see the module docstring).

    Args:
        config: The run (checked).
        out: If given, a directory: ``out/model.safetensors`` + ``out/model.json`` are written there.
        command: The command that reproduces the run (recorded in the sidecar).
        progress: Show a progress bar.

    Returns:
        ``(net, history)``: the trained network (eval mode) and ``{"loss": [...], "val": [...], "seconds"}``
        (mean training loss and validation overlaps per epoch).

    Example:
        >>> cfg = GraphTrainConfig(network_config={"features": 4, "num_layers": 2}, epochs=1,
        ...                        steps_per_epoch=2, num_nodes=100, val_nodes=100, val_graphs=1)
        >>> net, history = train_graph_network(cfg)
        >>> len(history["loss"])
        1
    """
    from ..networks.gnn import GraphNet, permutation_invariant_loss
    from ..noise import make_generator

    config.check()
    q = _model(config.preset, config.num_nodes, 0.0).q
    torch.manual_seed(config.seed)  # the initialization (nn.Linear draws from the global generator)
    net = GraphNet(q=q, **{k: v for k, v in config.network_config.items() if k != "q"})
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    gen = make_generator(config.seed)
    low, high = config.gap_range
    history: dict[str, Any] = {"loss": [], "val": []}
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs * config.steps_per_epoch, desc="gnn", leave=False)
    for _ in range(config.epochs):
        total = 0.0
        for _ in range(config.steps_per_epoch):
            gap = low + (high - low) * float(torch.rand((), generator=gen))
            labels, graph = _model(config.preset, config.num_nodes, gap).sample(generator=gen)
            loss = permutation_invariant_loss(net(graph), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            if bar is not None:
                bar.update(1)
        history["loss"].append(total / config.steps_per_epoch)
        val = _validate(net, config)
        history["val"].append(val)
        if bar is not None:
            bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", **{k[-6:]: f"{v:.3f}" for k, v in val.items()})
    if bar is not None:
        bar.close()
    history["seconds"] = time.perf_counter() - start
    net.eval()
    if out is not None:
        from .checkpoints import save_weights

        meta = {
            "model": "gnn",
            "network_config": net.config,
            "preset": config.preset,
            "command": command,
            "seed": config.seed,
            "data": {
                "graphs": "a fresh SBM graph per step, c_in - c_out uniform in gap_range, the preset's q, c",
                "num_nodes": config.num_nodes,
                "gap_range": list(config.gap_range),
                "val_nodes": config.val_nodes,
                "val_graphs": config.val_graphs,
                "val_gaps": list(VAL_GAPS),
            },
            "training": {k: v for k, v in asdict(config).items() if k not in ("network_config", "preset")},
            "metrics": {
                **history["val"][-1],
                "train_loss": history["loss"][-1],
                "train_loss_per_epoch": history["loss"],
                "train_seconds": history["seconds"],
            },
        }
        meta["training"]["gap_range"] = list(config.gap_range)
        save_weights(Path(out) / "model", net, meta)
    if not all(math.isfinite(v) for v in history["loss"]):
        raise ValueError("training diverged: the loss is not finite (lower --lr)")
    return net, history

"""Shipped weights: ``NAME.safetensors`` + ``NAME.json`` pairs in this folder, each made by one documented
``inverselab train`` command (recorded in its sidecar), loaded by name, never unpickled.

``inverselab list weights`` prints them. :func:`load_model` rebuilds the network from the sidecar
(``model``, ``network_config``, and ``initial`` for post-processing networks) and loads the weights after
checking their sha256.

Example:
    >>> isinstance(list_weights(), list)
    True
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["WEIGHTS_DIR", "weight_dirs", "list_weights", "find_weights", "load_model"]

#: The folder of the weights that ship with the package.
WEIGHTS_DIR = Path(__file__).resolve().parent


def weight_dirs() -> list[Path]:
    """Where weights are looked up: this package's folder, then the folders in ``INVERSELAB_WEIGHTS_PATH``
    (``os.pathsep``-separated)."""
    extra = [Path(p) for p in os.environ.get("INVERSELAB_WEIGHTS_PATH", "").split(os.pathsep) if p]
    return [WEIGHTS_DIR, *extra]


def list_weights(dirs: Sequence[str | os.PathLike] | None = None) -> list[dict[str, Any]]:
    """One summary per weights file (name, model, preset, metrics, command, sha256, path), sorted by name.

    Sidecars that cannot be read are skipped with their error in the ``error`` field.
    """
    from ..training.checkpoints import read_sidecar

    rows = []
    for folder in dirs if dirs is not None else weight_dirs():
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for side in sorted(folder.glob("*.json")):
            row: dict[str, Any] = {"name": side.stem, "path": str(side.with_suffix(".safetensors"))}
            try:
                meta = read_sidecar(side)
            except (OSError, ValueError) as err:
                row["error"] = str(err)
            else:
                for key in ("model", "preset", "initial", "metrics", "command", "data", "sha256", "seed"):
                    row[key] = meta.get(key)
            rows.append(row)
    return sorted(rows, key=lambda r: r["name"])


def find_weights(name: str | os.PathLike) -> Path:
    """The ``.safetensors`` file of weights ``name`` (a shipped name or a path)."""
    path = Path(name)
    if path.suffix in (".safetensors", ".json") or path.parent != Path("."):
        candidate = path.with_suffix(".safetensors")
        if candidate.exists():
            return candidate
        raise FileNotFoundError(f"weights {str(name)!r}: {candidate} does not exist")
    for folder in weight_dirs():
        candidate = folder / f"{name}.safetensors"
        if candidate.exists():
            return candidate
    known = ", ".join(r["name"] for r in list_weights()) or "none"
    raise ValueError(f"weights must be a shipped name ({known}) or a .safetensors path; got {name!r}")


def load_model(name: str | os.PathLike, device: str = "cpu"):
    """The network saved as ``name`` (a shipped name or a path), in eval mode: a denoiser, or a
    :class:`~inverselab.networks.PostProcess` model when the sidecar names an ``initial`` direct method."""
    from ..networks import NETWORKS, PostProcess
    from ..training.checkpoints import load_weights, read_sidecar

    path = find_weights(name)
    meta = read_sidecar(path)
    model_name, config = meta.get("model"), meta.get("network_config")
    if model_name not in NETWORKS or not isinstance(config, dict):
        raise ValueError(f"{path.with_suffix('.json')} does not name a known model and its network_config")
    net = NETWORKS[model_name](**config)
    model = PostProcess(net, meta["initial"]) if meta.get("initial") else net
    # Final weights hold the bare network; a checkpoint's model file the whole PostProcess ("net." keys).
    names = meta.get("tensors") or {}
    whole = model is not net and bool(names) and all(k.startswith("net.") for k in names)
    target = model if whole else net
    state, _ = load_weights(path, expect=target, device=device)
    target.load_state_dict(state)
    return model.to(device).eval()

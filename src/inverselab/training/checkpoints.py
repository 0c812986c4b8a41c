"""Weights and training checkpoints without pickle: tensors in safetensors, everything else in JSON.

Weights are a pair ``NAME.safetensors`` + ``NAME.json``. The JSON sidecar holds what the caller passes (model
name and config, preset, training command, seed, data, epoch/step, validation metrics) plus the sha256 of the
``.safetensors`` file, its tensor names with shapes and dtypes, the inverselab version and a format version.
:func:`load_weights` checks all of it before returning a tensor.

A training checkpoint is a directory ``run/step-000123/`` holding the model as a weights pair
(``model.safetensors`` + ``model.json``, loadable on its own with :func:`load_weights`), the optimizer,
scheduler, GradScaler and random-generator states split into tensors (``state.safetensors``) and a JSON
structure (``checkpoint.json``, written last). It is built in a hidden temporary directory beside its target
and renamed into place, so a run killed at any moment leaves either the old checkpoint or the new one; the
text file ``run/latest`` then names the newest, and only the last ``keep`` checkpoints are kept.

Nothing here unpickles anything: a file a user hands us is read only by ``safetensors`` and ``json``.

Example:
    >>> import tempfile, torch
    >>> tmp = tempfile.TemporaryDirectory()
    >>> net = torch.nn.Linear(3, 2)
    >>> path = save_weights(f"{tmp.name}/linear", net, {"model": "linear", "seed": 0})
    >>> path.name
    'linear.safetensors'
    >>> state, meta = load_weights(path, expect=net)
    >>> meta["seed"], len(meta["sha256"]), torch.equal(state["weight"], net.weight)
    (0, 64, True)
    >>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._files import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "FORMAT_VERSION",
    "save_weights",
    "load_weights",
    "read_sidecar",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
]

FORMAT_VERSION = 1
"""Version of the sidecar and checkpoint layout; files written by a newer layout are refused."""

_WEIGHTS_FORMAT = "inverselab-weights"
_CHECKPOINT_FORMAT = "inverselab-checkpoint"
_RESERVED = ("format", "format_version", "inverselab_version", "file", "sha256", "tensors")
_STEP_DIR = re.compile(r"step-(\d+)")
_TEMP_DIR = re.compile(r"\.step-\d+\.(?:tmp|old)-(\d+)")
_POINTER = "latest"


# ----------------------------------------------------------------------------------------------- files


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(NAME.safetensors, NAME.json)`` for ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    path = Path(path)
    stem = path.name
    for suffix in (".safetensors", ".json"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
            break
    return path.with_name(stem + ".safetensors"), path.with_name(stem + ".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file (or directory) to disk, so a power loss cannot leave a renamed-but-empty file."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # directories cannot be opened on some platforms; best effort
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
        _fsync(tmp)


def _write_safetensors(path: Path, tensors: dict[str, torch.Tensor]) -> str:
    """Write ``tensors`` atomically and return the file's sha256."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt"})
        _fsync(tmp)
        sha = _sha256(tmp)
    return sha


def _read_safetensors(path: Path, sha256: str, device: str | torch.device, sidecar: Path) -> dict:
    """Read a safetensors file after checking it against the sha256 its sidecar records."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} not found")
    actual = _sha256(path)
    if actual != sha256:
        raise ValueError(
            f"{path} is corrupted: sha256 mismatch ({sidecar.name} records {sha256[:16]}..., "
            f"the file hashes to {actual[:16]}...)"
        )
    try:
        return load_file(str(path), device=str(device))
    except (SafetensorError, OSError, RuntimeError) as e:
        raise ValueError(f"{path} is not a readable safetensors file: {e}") from None


def _read_json(path: Path, fmt: str, what: str) -> dict:
    """Parse a sidecar/checkpoint JSON and check its format and version."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e}); the file is truncated or corrupted") from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ValueError(f"{path} is not an inverselab {what} (expected format {fmt!r})")
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{path} has format_version {version!r}; this inverselab reads versions up to {FORMAT_VERSION}"
        )
    return data


def _check_json(name: str, value: object) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{name} must be JSON-serializable (dicts, lists, str, numbers, bool, None): {e}"
        ) from None


# --------------------------------------------------------------------------------------------- weights


def _state_tensors(name: str, model_or_state_dict: object) -> dict[str, torch.Tensor]:
    """Copy a module's (or a mapping's) tensors to contiguous CPU tensors that share no storage."""
    import torch

    if isinstance(model_or_state_dict, torch.nn.Module):
        state = model_or_state_dict.state_dict()
    elif isinstance(model_or_state_dict, Mapping):
        state = model_or_state_dict
    else:
        raise TypeError(
            f"{name} must be a torch.nn.Module or a state dict, got {type(model_or_state_dict).__name__}"
        )
    out = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"{name} keys must be strings, got {key!r}")
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name}[{key!r}] must be a torch.Tensor, got {type(value).__name__}")
        out[key] = value.detach().to("cpu", copy=True).contiguous()
    return out


def _shapes(model_or_state_dict: object) -> dict[str, tuple[int, ...]]:
    import torch

    state = (
        model_or_state_dict.state_dict()
        if isinstance(model_or_state_dict, torch.nn.Module)
        else model_or_state_dict
    )
    if not isinstance(state, Mapping) or not all(hasattr(v, "shape") for v in state.values()):
        raise TypeError(
            f"expect must be a torch.nn.Module or a state dict of tensors, got {type(state).__name__}"
        )
    return {k: tuple(v.shape) for k, v in state.items()}


def _preview(items: list, limit: int = 6) -> str:
    shown = ", ".join(repr(x) for x in items[:limit])
    more = f", ... (+{len(items) - limit} more)" if len(items) > limit else ""
    return f"[{shown}{more}]"


def _check_matches(path: Path, found: Mapping[str, tuple[int, ...]], expect: object) -> None:
    """Raise if the tensors ``found`` in ``path`` do not have the keys and shapes of ``expect``."""
    wanted = _shapes(expect)
    missing = [k for k in wanted if k not in found]
    unexpected = sorted(k for k in found if k not in wanted)
    mismatched = [k for k in wanted if k in found and tuple(found[k]) != wanted[k]]
    if not (missing or unexpected or mismatched):
        return
    parts = []
    if missing:
        parts.append(f"missing keys {_preview(missing)}")
    if unexpected:
        parts.append(f"unexpected {_preview(unexpected)}")
    if mismatched:
        shown = ", ".join(f"{k!r} {tuple(found[k])} in file vs {wanted[k]} in model" for k in mismatched[:4])
        more = f", ... (+{len(mismatched) - 4} more)" if len(mismatched) > 4 else ""
        parts.append(f"shape mismatch {shown}{more}")
    raise ValueError(f"{path} does not match the model: {'; '.join(parts)}")


def save_weights(
    path: str | os.PathLike,
    model_or_state_dict: torch.nn.Module | Mapping[str, torch.Tensor],
    meta: Mapping,
    *,
    dtype: torch.dtype | None = None,
) -> Path:
    """Save weights as ``NAME.safetensors`` plus a ``NAME.json`` sidecar, each written atomically.

    Args:
        path: ``NAME``, ``NAME.safetensors`` or ``NAME.json``; missing parent directories are created.
        model_or_state_dict: A module (its ``state_dict()`` is saved) or a mapping of names to tensors.
        meta: JSON-serializable facts for the sidecar, e.g. ``model``, ``config``, ``preset``, ``command``,
            ``seed``, ``data``, ``epoch``, ``step``, ``metrics``. The keys ``format``, ``format_version``,
            ``inverselab_version``, ``file``, ``sha256`` and ``tensors`` are added here and so are reserved.
        dtype: Store the floating-point tensors in this dtype (``torch.float16`` halves the file of a float32
            network; ``load_state_dict`` casts them back on load). The sidecar lists the stored dtypes and the
            sha256 is that of the stored file. ``None`` stores them as they are.

    Returns:
        The path of the ``.safetensors`` file.

    Raises:
        TypeError: ``meta`` is not JSON-serializable, or the state dict holds a non-tensor.
        ValueError: ``meta`` uses a reserved key, or ``dtype`` is not a floating-point dtype.
    """
    import torch

    from .. import __version__

    weights, sidecar = _paths(path)
    if not isinstance(meta, Mapping) or not all(isinstance(k, str) for k in meta):
        raise TypeError(f"meta must be a mapping with string keys, got {type(meta).__name__}")
    reserved = [k for k in meta if k in _RESERVED]
    if reserved:
        raise ValueError(f"meta must not use the reserved keys {reserved} (they are written by save_weights)")
    _check_json("meta", meta)
    tensors = _state_tensors("model_or_state_dict", model_or_state_dict)
    if dtype is not None:
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point torch.dtype or None, got {dtype!r}")
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}
    weights.parent.mkdir(parents=True, exist_ok=True)
    sha = _write_safetensors(weights, tensors)
    record = {
        "format": _WEIGHTS_FORMAT,
        "format_version": FORMAT_VERSION,
        "inverselab_version": __version__,
        **meta,
        "file": weights.name,
        "sha256": sha,
        "tensors": {
            k: {"dtype": str(v.dtype).removeprefix("torch."), "shape": list(v.shape)}
            for k, v in tensors.items()
        },
    }
    _write_text(sidecar, json.dumps(record, indent=2) + "\n")
    return weights


def read_sidecar(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check the JSON sidecar of a weights file, without reading (or hashing) the weights.

    Args:
        path: ``NAME``, ``NAME.safetensors`` or ``NAME.json``.

    Returns:
        The sidecar: the caller's meta plus ``format``, ``format_version``, ``inverselab_version``, ``file``,
        ``sha256`` and ``tensors`` (name -> ``{"dtype", "shape"}``).

    Raises:
        FileNotFoundError: The sidecar does not exist.
        ValueError: It is not valid JSON, not an inverselab sidecar, or from a newer format version.
    """
    _, sidecar = _paths(path)
    record = _read_json(sidecar, _WEIGHTS_FORMAT, "weights sidecar")
    sha, tensors = record.get("sha256"), record.get("tensors")
    if not isinstance(sha, str) or len(sha) != 64 or not isinstance(tensors, dict):
        raise ValueError(f"{sidecar} lacks a valid 'sha256' or 'tensors' entry")
    return record


def load_weights(
    path: str | os.PathLike,
    *,
    expect: torch.nn.Module | Mapping | None = None,
    device: str | torch.device = "cpu",
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load and verify weights saved by :func:`save_weights`.

    Checks, in order: both files exist, the sidecar parses, the file's sha256 is the one the sidecar records,
    the file's tensors are the ones the sidecar lists, and (with ``expect``) the keys and shapes are the
    model's.

    Args:
        path: ``NAME``, ``NAME.safetensors`` or ``NAME.json``.
        expect: A module or state dict the weights must match in keys and shapes (dtypes may differ:
            ``load_state_dict`` casts).
        device: Where to put the loaded tensors.

    Returns:
        ``(state_dict, sidecar)``; the sidecar is the dict :func:`read_sidecar` returns.

    Raises:
        FileNotFoundError: The ``.safetensors`` file or its sidecar is missing (the message names which).
        ValueError: Corrupted file (``"... is corrupted: sha256 mismatch"``), unreadable sidecar, or weights
            that do not match ``expect`` (``"... does not match the model: missing keys [...], ..."``).
    """
    weights, sidecar = _paths(path)
    if not weights.is_file():
        raise FileNotFoundError(f"weights file {weights} not found")
    if not sidecar.is_file():
        raise FileNotFoundError(f"sidecar {sidecar} not found (every {weights.name} needs its JSON sidecar)")
    record = read_sidecar(sidecar)
    state = _read_safetensors(weights, record["sha256"], device, sidecar)
    found = {k: (str(v.dtype).removeprefix("torch."), list(v.shape)) for k, v in state.items()}
    listed = {
        k: (v.get("dtype"), v.get("shape")) for k, v in record["tensors"].items() if isinstance(v, dict)
    }
    if found != listed:
        raise ValueError(f"{weights} does not hold the tensors its sidecar {sidecar.name} lists")
    state = {k: state[k] for k in record["tensors"]}  # the saved order (safetensors sorts by dtype and size)
    if expect is not None:
        _check_matches(weights, {k: tuple(v.shape) for k, v in state.items()}, expect)
    return state, record


# ------------------------------------------------------------------------ state dicts without pickle


def _encode(obj: object, key: str, tensors: dict) -> object:
    """JSON structure for ``obj``; its tensors go to ``tensors`` under readable unique keys."""
    import torch

    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(obj, torch.Tensor):
        name, i = key, 1
        while name in tensors:
            name, i = f"{key}#{i}", i + 1
        tensors[name] = obj.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": name}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}/{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, f"{key}/{k}", tensors) for k, v in obj.items()}
        return {
            "__dict__": [
                [_encode(k, f"{key}/{k}", tensors), _encode(v, f"{key}/{k}", tensors)] for k, v in obj.items()
            ]
        }
    raise TypeError(f"{key}: a value of type {type(obj).__name__} cannot be stored without pickle")


def _decode(obj: object, tensors: Mapping, where: Path) -> object:
    """Inverse of :func:`_encode`."""
    if isinstance(obj, list):
        return [_decode(v, tensors, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        ((tag, value),) = obj.items()
        try:
            if tag == "__tensor__":
                return tensors[value]
            if tag == "__tuple__":
                return tuple(_decode(v, tensors, where) for v in value)
            if tag == "__float__":
                return float(value)
            if tag == "__dict__":
                return {_decode(k, tensors, where): _decode(v, tensors, where) for k, v in value}
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{where} has a malformed {tag} entry ({type(e).__name__}: {e})") from None
    if any(k.startswith("__") for k in obj):
        raise ValueError(f"{where} has an unknown tagged entry {sorted(obj)}")
    return {k: _decode(v, tensors, where) for k, v in obj.items()}


# ---------------------------------------------------------------------------------------- checkpoints


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _check_generators(generators: object) -> dict:
    import torch

    if generators is None:
        return {}
    if not isinstance(generators, Mapping) or not all(
        isinstance(k, str) and isinstance(g, torch.Generator) for k, g in generators.items()
    ):
        raise TypeError("generators must be a mapping of names to torch.Generator")
    return dict(generators)


def _pid_alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_stale_temps(directory: Path) -> None:
    """Delete temporary checkpoint directories left by a killed process (never by a running one)."""
    for p in directory.iterdir():
        m = _TEMP_DIR.fullmatch(p.name)
        if m and p.is_dir() and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def _remove_dir(path: Path) -> None:
    """Rename aside, then delete: a half-deleted directory never looks like a checkpoint."""
    aside = path.with_name(f".{path.name}.old-{os.getpid()}")
    shutil.rmtree(aside, ignore_errors=True)
    os.replace(path, aside)
    shutil.rmtree(aside, ignore_errors=True)


def _step_dirs(directory: Path) -> list[tuple[int, Path]]:
    """Complete checkpoint directories ``(step, path)``, newest first."""
    found = []
    for p in directory.iterdir():
        m = _STEP_DIR.fullmatch(p.name)
        if m and (p / "checkpoint.json").is_file():
            found.append((int(m.group(1)), p))
    return sorted(found, reverse=True)


def save_checkpoint(
    directory: str | os.PathLike,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: object | None = None,
    scaler: object | None = None,
    generators: Mapping[str, torch.Generator] | None = None,
    step: int,
    epoch: int,
    meta: Mapping | None = None,
    keep: int = 2,
) -> Path:
    """Write a full training checkpoint ``directory/step-{step:06d}/`` atomically and make it the latest.

    The checkpoint holds the model (``model.safetensors`` + ``model.json``, a weights pair with ``meta``,
    ``step`` and ``epoch`` in its sidecar), and in ``state.safetensors`` + ``checkpoint.json`` the optimizer,
    scheduler and GradScaler state dicts (tensors in the safetensors file, the rest as JSON with tuples and
    non-string keys tagged), the states of ``generators`` and torch's global CPU (and CUDA) RNG state. It is
    built in a hidden temporary directory, renamed into place, then ``directory/latest`` is rewritten to name
    it. Afterwards only the ``keep`` newest checkpoints up to ``step`` remain; checkpoints with a larger step
    (an abandoned continuation, after resuming from an earlier one) are removed, and so are temporary
    directories left by killed processes. Call it from one process only (rank 0 under DDP).

    Args:
        directory: The run's checkpoint directory (created if missing).
        model: The bare module (under DDP pass ``model.module``, so the keys carry no ``module.`` prefix).
        optimizer: Optional optimizer whose state to save.
        scheduler: Optional learning-rate scheduler (anything with ``state_dict``/``load_state_dict``).
        scaler: Optional ``torch.amp.GradScaler``.
        generators: Optional named ``torch.Generator`` objects (data sampling, dropout, noise ...).
        step: Number of optimizer steps completed.
        epoch: Number of epochs completed (or the current epoch; the trainer decides, this only stores it).
        meta: JSON-serializable facts for the model sidecar (see :func:`save_weights`).
        keep: How many checkpoints to keep.

    Returns:
        The checkpoint directory.

    Raises:
        ValueError: Bad ``step``, ``epoch`` or ``keep``, or ``meta`` disagrees with them.
        TypeError: A state dict holds a value JSON and safetensors cannot store.
    """
    import torch

    from .. import __version__

    directory = Path(directory)
    step, epoch = _check_count("step", step), _check_count("epoch", epoch)
    if _check_count("keep", keep) < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    meta = dict(meta or {})
    for name, value in (("step", step), ("epoch", epoch)):
        if meta.setdefault(name, value) != value:
            raise ValueError(f"meta[{name!r}] = {meta[name]!r} disagrees with {name}={value}")
    generators = _check_generators(generators)

    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(directory)
    final = directory / f"step-{step:06d}"
    tmp = directory / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        save_weights(tmp / "model.safetensors", model, meta)
        tensors: dict[str, torch.Tensor] = {}
        record: dict[str, Any] = {
            "format": _CHECKPOINT_FORMAT,
            "format_version": FORMAT_VERSION,
            "inverselab_version": __version__,
            "step": step,
            "epoch": epoch,
        }
        if optimizer is not None:
            record["optimizer"] = {
                "class": type(optimizer).__qualname__,
                "param_shapes": [[list(p.shape) for p in g["params"]] for g in optimizer.param_groups],
                "state": _encode(optimizer.state_dict(), "optimizer", tensors),
            }
        for name, obj in (("scheduler", scheduler), ("scaler", scaler)):
            if obj is not None:
                record[name] = {
                    "class": type(obj).__qualname__,
                    "state": _encode(obj.state_dict(), name, tensors),
                }
        record["generators"] = {}
        for name, g in generators.items():
            tensors[f"generators/{name}"] = g.get_state()
            record["generators"][name] = {"device": str(g.device)}
        tensors["rng/torch"] = torch.get_rng_state()
        cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        for i, s in enumerate(cuda_states):
            tensors[f"rng/cuda/{i}"] = s
        record["rng"] = {"torch": "rng/torch", "cuda": [f"rng/cuda/{i}" for i in range(len(cuda_states))]}
        record["state_sha256"] = _write_safetensors(tmp / "state.safetensors", tensors)
        _write_text(tmp / "checkpoint.json", json.dumps(record, indent=1, allow_nan=False) + "\n")
        _fsync(tmp)
        if final.exists():
            _remove_dir(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync(directory)
    _write_text(directory / _POINTER, final.name + "\n")
    older = [p for s, p in _step_dirs(directory) if s <= step]
    later = [p for s, p in _step_dirs(directory) if s > step]
    for p in older[keep:] + later:
        _remove_dir(p)
    return final


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint in a run directory, or ``None`` if there is none.

    The one ``directory/latest`` names, if it is complete; otherwise (pointer missing or stale) the complete
    ``step-*`` directory with the largest step. Temporary directories of an interrupted save are ignored.

    Args:
        directory: The run's checkpoint directory (it need not exist).

    Returns:
        The checkpoint directory, or ``None``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return None
    with contextlib.suppress(OSError, UnicodeDecodeError):
        name = (directory / _POINTER).read_text(encoding="utf-8").strip()
        if _STEP_DIR.fullmatch(name) and (directory / name / "checkpoint.json").is_file():
            return directory / name
    found = _step_dirs(directory)
    return found[0][1] if found else None


def _check_optimizer(path: Path, entry: dict, optimizer: torch.optim.Optimizer) -> None:
    saved, current = entry.get("class"), type(optimizer).__qualname__
    if saved != current:
        raise ValueError(f"{path}: the checkpoint's optimizer is {saved}, this one is {current}")
    shapes = entry.get("param_shapes")
    now = [[list(p.shape) for p in g["params"]] for g in optimizer.param_groups]
    if not isinstance(shapes, list) or len(shapes) != len(now):
        count = len(shapes) if isinstance(shapes, list) else "?"
        raise ValueError(f"{path}: optimizer has {count} parameter groups in the checkpoint, {len(now)} now")
    for gi, (a, b) in enumerate(zip(shapes, now, strict=True)):
        if len(a) != len(b):
            raise ValueError(
                f"{path}: optimizer group {gi} has {len(a)} parameters in the checkpoint, {len(b)} now"
            )
        for pi, (sa, sb) in enumerate(zip(a, b, strict=True)):
            if list(sa) != sb:
                raise ValueError(
                    f"{path}: optimizer parameter {pi} of group {gi} has shape {tuple(sa)} in the "
                    f"checkpoint, {tuple(sb)} now"
                )


def load_checkpoint(
    directory: str | os.PathLike,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: object | None = None,
    scaler: object | None = None,
    generators: Mapping[str, torch.Generator] | None = None,
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_checkpoint` into the given objects.

    Everything is read and checked (sha256 of both tensor files, model keys and shapes, optimizer class and
    parameter shapes, scheduler/scaler class, generator names) before any object is changed. Then the model,
    the objects passed, the named generators and torch's global CPU RNG state (and the CUDA ones, when the
    checkpoint has as many as this machine) are restored. Parts of the checkpoint not asked for are ignored.

    Args:
        directory: A run directory (its :func:`latest_checkpoint` is loaded) or one checkpoint directory.
        model: The bare module to load the weights into (strict: same keys and shapes).
        optimizer: Optional optimizer to restore (built over the same parameters, in the same order).
        scheduler: Optional scheduler to restore (of the same class).
        scaler: Optional GradScaler to restore.
        generators: Optional named generators to restore; each name must be in the checkpoint.

    Returns:
        The model sidecar: the ``meta`` given to :func:`save_checkpoint` with ``step`` and ``epoch``, plus
        ``sha256``, ``tensors``, ``format_version`` and ``inverselab_version``.

    Raises:
        FileNotFoundError: No checkpoint in ``directory``, or a file of it is missing.
        ValueError: A corrupted file, or a checkpoint that does not fit the objects passed.
    """
    import torch

    directory = Path(directory)
    if (directory / "checkpoint.json").is_file():
        path = directory
    else:
        path = latest_checkpoint(directory)
        if path is None:
            raise FileNotFoundError(f"no checkpoint in {directory}")
    index = path / "checkpoint.json"
    record = _read_json(index, _CHECKPOINT_FORMAT, "checkpoint")
    state_dict, meta = load_weights(path / "model.safetensors", expect=model)
    sha = record.get("state_sha256")
    if not isinstance(sha, str):
        raise ValueError(f"{index} lacks 'state_sha256'")
    tensors = _read_safetensors(path / "state.safetensors", sha, "cpu", index)

    restore = []
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler), ("scaler", scaler)):
        if obj is None:
            continue
        entry = record.get(name)
        if not isinstance(entry, dict) or "state" not in entry:
            raise ValueError(f"{path} has no {name} state")
        if name == "optimizer":
            _check_optimizer(path, entry, obj)
        elif entry.get("class") != type(obj).__qualname__:
            now = type(obj).__qualname__
            raise ValueError(f"{path}: the checkpoint's {name} is {entry.get('class')}, this one is {now}")
        restore.append((name, obj, _decode(entry["state"], tensors, index)))
    generators = _check_generators(generators)
    saved = record.get("generators")
    saved = saved if isinstance(saved, dict) else {}
    missing = [k for k in generators if k not in saved or f"generators/{k}" not in tensors]
    if missing:
        raise ValueError(f"{path} has no state for generators {missing} (it has {sorted(saved)})")
    for name, g in generators.items():
        device = str(saved[name].get("device", "cpu")) if isinstance(saved[name], dict) else "cpu"
        if device.split(":")[0] != g.device.type:
            raise ValueError(f"{path}: generator {name!r} was on {device}, this one is on {g.device}")
    rng = record.get("rng") if isinstance(record.get("rng"), dict) else {}
    if rng.get("torch") not in tensors:
        raise ValueError(f"{path}: state.safetensors lacks the global RNG state")

    model.load_state_dict(state_dict)
    for name, obj, state in restore:
        try:
            obj.load_state_dict(state)
        except (ValueError, KeyError, TypeError, RuntimeError) as e:
            raise ValueError(f"{path}: cannot restore the {name}: {' '.join(str(e).split())}") from None
    for name, g in generators.items():
        g.set_state(tensors[f"generators/{name}"])
    torch.set_rng_state(tensors[rng["torch"]])
    cuda = rng.get("cuda") if isinstance(rng.get("cuda"), list) else []
    if (
        cuda
        and all(k in tensors for k in cuda)
        and torch.cuda.is_available()
        and torch.cuda.device_count() == len(cuda)
    ):
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    return meta

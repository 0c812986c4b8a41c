"""Stage-wise (layer-by-layer) training of the unrolled sparse-coding networks (LISTA family, LAMP).

The schedule of Chen et al. (NeurIPS 2018, also used by ALISTA) and Borgerding & Schniter (IEEE TSP 2017): for
``k = 1..K``, add layer ``k`` and train only its new parameters with Adam at ``lr``; then fine-tune all layers
``1..k`` at ``lr * 0.2`` and ``lr * 0.02``. Each stage minimizes the squared error of the ``k``-th layer's
output on fresh batches of Bernoulli-Gaussian vectors drawn on the fly (``y = A x`` for the preset's fixed
matrix, plus noise at ``snr_db`` if given), and keeps the parameters with the best NMSE on a held-out set
(checked every ``eval_every`` steps; the reference code's early stopping).

Example:
    >>> import torch
    >>> from inverselab.operators import GaussianMatrix
    >>> A = GaussianMatrix(40, 20, generator=0, normalize_columns=True)
    >>> net, hist = train_sparse_coding("lista-cp", 2, A=A, steps=(20, 10, 10), val_size=50, eval_every=10)
    >>> len(hist["nmse_db_per_layer"]), hist["nmse_db_per_layer"][-1] < hist["initial_nmse_db_per_layer"][-1]
    (2, True)
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._checks import check_choice, check_number

__all__ = [
    "SPARSE_CODING_MODELS",
    "sparse_coding_matrix",
    "sparse_coding_batch",
    "evaluate_nmse_db",
    "train_sparse_coding",
]

#: ``inverselab train --model`` names of the sparse-coding networks (keys of ``networks.NETWORKS``).
SPARSE_CODING_MODELS = ("lista", "lista-cp", "lista-cpss", "alista", "lamp")


def sparse_coding_matrix(preset: str = "cs-sparse-250x500", seed: int = 0):
    """The fixed matrix of ``preset`` at ``seed``: the operator ``make_problem(preset, seed=seed)`` builds.

    Args:
        preset: A vector preset (``kind == "vector"``), e.g. ``"cs-sparse-250x500"``.
        seed: The preset seed that draws the matrix.

    Returns:
        The operator (a :class:`~inverselab.operators.GaussianMatrix` for the sparse preset).

    Raises:
        ValueError: ``preset`` is not a vector preset.
    """
    from ..noise import make_generator
    from ..presets import get_preset

    p = get_preset(preset)
    if p.kind != "vector":
        raise ValueError(
            f"preset must be a vector (sparse recovery) preset, got {p.name!r} of kind {p.kind!r}"
        )
    seed = check_number("seed", seed, low=0, integer=True)
    A, _ = p.build((p.size,), make_generator(seed))
    return A


def sparse_coding_batch(
    A: torch.Tensor,
    num: int,
    generator: torch.Generator,
    *,
    sparsity: float = 0.1,
    snr_db: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)``: ``num`` Bernoulli(``sparsity``)-Gaussian vectors and ``y = A x`` (+ noise at ``snr_db``).

    The noise standard deviation is ``std(A x) * 10^(-snr_db / 20)`` over the batch, as in
    :func:`~inverselab.data.sparse_cs_problem`. Drawn on ``generator``'s device, returned on ``A``'s device
    and dtype.

    Args:
        A: The ``m x n`` matrix.
        num: Number of vectors.
        generator: Source of randomness.
        sparsity: Probability of a nonzero entry.
        snr_db: Measurement SNR in dB, or ``None`` for noiseless measurements.

    Returns:
        ``x`` of shape ``(num, n)`` and ``y`` of shape ``(num, m)``.
    """
    from ..data.sparse import bernoulli_gaussian

    x = bernoulli_gaussian(num, A.shape[1], sparsity, generator, dtype=A.dtype).to(A.device)
    y = x @ A.T
    if snr_db is not None:
        sigma = float(torch.std(y)) * 10 ** (-snr_db / 20)
        w = torch.randn(y.shape, generator=generator, device=generator.device, dtype=A.dtype)
        y = y + sigma * w.to(A.device)
    return x, y


def evaluate_nmse_db(
    net: torch.nn.Module, y: torch.Tensor, x: torch.Tensor, batch: int = 1000
) -> list[float]:
    """NMSE in dB of every layer of ``net`` on ``(y, x)``: ``10 log10(Σ‖x_k - x‖² / Σ‖x‖²)`` (pooled).

    Args:
        net: A :class:`~inverselab.networks.lista.SparseCodingNetwork`.
        y: Measurements ``(N, m)``.
        x: Ground truth ``(N, n)``.
        batch: Vectors per forward pass.

    Returns:
        One value per layer.
    """
    errors: list[float] | None = None
    with torch.no_grad():
        for start in range(0, y.shape[0], batch):
            outs = net(y[start : start + batch], return_all=True)
            xb = x[start : start + batch]
            errs = [float(((o - xb) ** 2).double().sum()) for o in outs]
            errors = errs if errors is None else [a + b for a, b in zip(errors, errs, strict=True)]
    ref = max(float((x.double() ** 2).sum()), 1e-300)
    return [10 * math.log10(max(e / ref, 1e-300)) for e in errors or []]


def _layer_nmse_db(net, y, x, k: int) -> float:
    with torch.no_grad():
        out = net(y, num_layers=k)
    err = float(((out - x) ** 2).double().sum()) / max(float((x.double() ** 2).sum()), 1e-300)
    return 10 * math.log10(max(err, 1e-300))


def train_sparse_coding(
    model_name: str,
    num_layers: int = 16,
    *,
    A: Any = None,
    preset: str = "cs-sparse-250x500",
    matrix_seed: int = 0,
    seed: int = 0,
    sparsity: float = 0.1,
    snr_db: float | None = None,
    batch_size: int = 64,
    lr: float = 5e-4,
    weight_lr: float | None = None,
    refine: Sequence[float] = (0.2, 0.02),
    steps: int | Sequence[int] = (2000, 1000, 1000),
    patience: int | None = None,
    warm_start: bool = True,
    eval_every: int = 100,
    val_size: int = 1000,
    model_kwargs: dict[str, Any] | None = None,
    device: str | torch.device | None = None,
    progress: bool | Callable[[str], None] = False,
    out: str | os.PathLike | None = None,
    command: str = "",
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train a sparse-coding network layer by layer (Chen et al. 2018; Borgerding & Schniter 2017).

    For layer ``k = 1..num_layers``: a stage at ``lr`` that trains only the parameters layer ``k`` introduces,
    then one stage per factor in ``refine`` at ``lr * factor`` that trains all layers ``1..k``. Every stage
    minimizes ``mean_b ‖x_k - x‖²`` of the ``k``-th layer's output on fresh batches and ends with the
    parameters that had the best NMSE on the held-out set.

    Args:
        model_name: One of :data:`SPARSE_CODING_MODELS`.
        num_layers: Number of layers ``K``.
        A: The fixed ``m x n`` matrix (tensor or operator with ``matrix``); default the matrix of ``preset``
            at ``matrix_seed`` (:func:`sparse_coding_matrix`).
        preset: The preset the network is trained for (recorded in the sidecar).
        matrix_seed: The preset seed whose matrix is used when ``A`` is not given.
        seed: Seeds the training batches (one stream) and the held-out set (``seed + 1``).
        sparsity: Probability of a nonzero entry in ``x`` (the preset's 0.1).
        snr_db: Training/validation SNR in dB, ``None`` for noiseless measurements.
        batch_size: Vectors per step (64 in the papers).
        lr: Learning rate of the new-layer stage (Adam, 5e-4 in the papers).
        weight_lr: Learning rate of the matrix parameters (``W``, ``B``) in the new-layer stage, scaled by the
            same ``refine`` factors; default ``lr`` (the papers' single rate). Lower than ``lr`` suits
            networks started at good weights (LISTA-CP with ``init="analytic"``), whose steps and thresholds
            must move fast while noisy steps on the matrices would only undo their start.
        refine: Learning-rate factors of the fine-tuning stages.
        steps: Steps per stage: one number for every stage, or one per stage (new layer first, then one per
            ``refine`` factor).
        patience: End a stage early after this many steps without a better held-out NMSE (``None``: never).
        warm_start: Start each new layer ``k > 1`` from the trained parameters of layer ``k - 1`` instead of
            the model's initialization (ours, not the papers': their stages run far longer; it reaches a
            given NMSE in several times fewer steps). Shared parameters (tied LAMP) are not copied.
        eval_every: Steps between held-out evaluations.
        val_size: Number of held-out vectors.
        model_kwargs: Extra constructor arguments of the model (e.g. ``{"lam": 0.4}``).
        device: Where to train (default CPU).
        progress: ``True`` prints one line per layer; a callable receives those lines instead.
        out: If given, save the trained weights there (:func:`~inverselab.training.checkpoints.save_weights`).
        command: The command that reproduces the run, recorded in the sidecar.
        checkpoint_dir: If given, write a checkpoint there after every layer (atomically,
            :func:`~inverselab.training.checkpoints.save_checkpoint`: the network, the training-batch
            generator, the history and the settings).
        resume: Continue from the latest checkpoint in ``checkpoint_dir`` (same settings required) with the
            next layer; the result is the one an uninterrupted run gives.

    Returns:
        ``(model, history)``: the trained network (eval mode) and a dict with ``"nmse_db_per_layer"``
        (held-out NMSE of every layer at the end), ``"initial_nmse_db_per_layer"`` (before training),
        ``"layers"`` (per layer ``k``: ``"nmse_db"`` after its stages and ``"stages"`` with ``lr``, ``steps``,
        ``start_nmse_db``, ``best_nmse_db``), ``"loss"`` (mean training loss per evaluation window, all stages
        in order) and ``"seconds"``.

    Raises:
        ValueError: Unknown ``model_name`` or bad numbers (the message names the argument).
    """
    from ..networks import NETWORKS
    from ..noise import make_generator

    check_choice("model_name", model_name, SPARSE_CODING_MODELS)
    num_layers = check_number("num_layers", num_layers, low=1, integer=True)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    lr = float(check_number("lr", lr, low=0, low_inclusive=False))
    weight_lr = (
        lr if weight_lr is None else float(check_number("weight_lr", weight_lr, low=0, low_inclusive=False))
    )
    factors = [float(check_number("refine", f, low=0, low_inclusive=False)) for f in refine]
    num_stages = 1 + len(factors)
    if isinstance(steps, int) and not isinstance(steps, bool):
        steps = [steps] * num_stages
    steps = [check_number("steps", s, low=0, integer=True) for s in steps]
    if len(steps) != num_stages:
        raise ValueError(f"steps must have {num_stages} entries (1 + len(refine)), got {len(steps)}")
    eval_every = check_number("eval_every", eval_every, low=1, integer=True)
    val_size = check_number("val_size", val_size, low=1, integer=True)
    if patience is not None:
        patience = check_number("patience", patience, low=1, integer=True)
    if snr_db is not None:
        snr_db = float(check_number("snr_db", snr_db))
    device = torch.device("cpu" if device is None else device)
    if not isinstance(warm_start, bool):
        raise TypeError(f"warm_start must be a bool, got {warm_start!r}")
    say = progress if callable(progress) else (print if progress else None)

    matrix_given = A is not None
    if not matrix_given:
        A = sparse_coding_matrix(preset, matrix_seed)
    torch.manual_seed(seed)  # no randomness in the constructors; kept for safety of subclasses
    net = NETWORKS[model_name](A, num_layers, **(model_kwargs or {})).to(device)
    matrix = net.A
    train_gen = make_generator(seed)
    x_val, y_val = sparse_coding_batch(
        matrix, val_size, make_generator(seed + 1), sparsity=sparsity, snr_db=snr_db
    )
    setup = {
        "model": model_name,
        "network_config": net.config,
        "preset": preset,
        "seed": seed,
        "data": {
            "matrix_seed": None if matrix_given else matrix_seed,
            "sparsity": sparsity,
            "snr_db": snr_db,
            "val_size": val_size,
            "batch_size": batch_size,
        },
        "training": {
            "lr": lr,
            "weight_lr": weight_lr,
            "refine": factors,
            "steps": steps,
            "patience": patience,
            "warm_start": warm_start,
            "eval_every": eval_every,
        },
    }
    history: dict[str, Any] = {"layers": [], "loss": [], "seconds": 0.0}
    first = 1
    if resume:
        if checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir")
        first, history = _resume(checkpoint_dir, net, train_gen, setup)
        if say is not None:
            say(f"{model_name}: resumed after layer {first - 1}/{num_layers} from {checkpoint_dir}")
    else:
        history["initial_nmse_db_per_layer"] = evaluate_nmse_db(net, y_val, x_val)
    start = time.perf_counter() - history["seconds"]
    for k in range(first, num_layers + 1):
        record: dict[str, Any] = {"layer": k, "stages": []}
        for stage in range(num_stages):
            if stage == 0:
                params, stage_lr = net.layer_parameters(k - 1), lr
                if warm_start and k > 1:
                    _copy_layer(net, k - 2, k - 1)
            else:
                params = [p for j in range(k) for p in net.layer_parameters(j)]
                stage_lr = lr * factors[stage - 1]
            before = _layer_nmse_db(net, y_val, x_val, k)
            done, best = _run_stage(
                net, params, stage_lr, steps[stage], k, matrix, train_gen, x_val, y_val,
                batch_size=batch_size, sparsity=sparsity, snr_db=snr_db, eval_every=eval_every,
                patience=patience, losses=history["loss"], weight_lr_factor=weight_lr / lr,
            )  # fmt: skip
            record["stages"].append(
                {"lr": stage_lr, "steps": done, "start_nmse_db": before, "best_nmse_db": best}
            )
        record["nmse_db"] = _layer_nmse_db(net, y_val, x_val, k)
        history["layers"].append(record)
        history["seconds"] = time.perf_counter() - start
        if checkpoint_dir is not None:
            from .checkpoints import save_checkpoint

            save_checkpoint(
                checkpoint_dir, model=net, generators={"train": train_gen}, step=k, epoch=k,
                meta={**setup, "command": command, "history": history},
            )  # fmt: skip
        if say is not None:
            say(
                f"{model_name} layer {k}/{num_layers}: held-out NMSE {record['nmse_db']:.2f} dB "
                f"({history['seconds']:.0f} s)"
            )
    history["seconds"] = time.perf_counter() - start
    history["nmse_db_per_layer"] = evaluate_nmse_db(net, y_val, x_val)
    net.eval()
    if out is not None:
        from .checkpoints import save_weights

        meta = {
            **setup,
            "command": command,
            "metrics": {
                "nmse_db": history["nmse_db_per_layer"][-1],
                "nmse_db_per_layer": history["nmse_db_per_layer"],
                "train_seconds": history["seconds"],
                # per layer, the steps each stage ran (below its cap when patience ended it)
                "stage_steps": [[st["steps"] for st in r["stages"]] for r in history["layers"]],
            },
        }
        save_weights(out, net, meta)
    return net, history


def _resume(directory, net, train_gen, setup: dict) -> tuple[int, dict[str, Any]]:
    """Load the latest per-layer checkpoint of ``directory`` into ``net`` and ``train_gen``; return the next
    layer and the history so far. The checkpoint must come from the same setup (model, data, schedule)."""
    import json

    from .checkpoints import latest_checkpoint, load_checkpoint, read_sidecar

    path = latest_checkpoint(directory)
    if path is None:
        raise FileNotFoundError(f"resume: no checkpoint in {directory}")
    saved = read_sidecar(path / "model.safetensors")
    # JSON round trip: tuples become lists on both sides
    differ = [k for k in setup if json.loads(json.dumps(setup[k])) != saved.get(k)]
    if differ:
        raise ValueError(
            f"resume: the checkpoint in {directory} was trained with other settings ({', '.join(differ)}: "
            f"{', '.join(f'{saved.get(k)!r}' for k in differ)}); use a new output directory"
        )
    meta = load_checkpoint(path, model=net, generators={"train": train_gen})
    return int(meta["step"]) + 1, meta["history"]


def _copy_layer(net, source: int, target: int) -> None:
    """Copy layer ``source``'s own parameters into layer ``target`` (matched from the end, same shapes)."""
    new, old = net.layer_parameters(target), net.layer_parameters(source)
    with torch.no_grad():
        for p, q in zip(reversed(new), reversed(old), strict=False):
            if p.shape == q.shape and p is not q:
                p.copy_(q)


def _run_stage(
    net, params, lr, num_steps, k, matrix, gen, x_val, y_val, *, batch_size, sparsity, snr_db, eval_every,
    patience, losses, weight_lr_factor=1.0,
) -> tuple[int, float]:  # fmt: skip
    """One stage: Adam on ``params`` for the ``k``-layer output (matrices at ``lr * weight_lr_factor``);
    restores the best held-out parameters."""
    net.train()
    best = _layer_nmse_db(net, y_val, x_val, k)
    best_state = copy.deepcopy(net.state_dict())
    if num_steps == 0 or not params:
        return 0, best
    groups = [
        {"params": [p for p in params if p.numel() > 1], "lr": lr * weight_lr_factor},
        {"params": [p for p in params if p.numel() == 1], "lr": lr},
    ]
    opt = torch.optim.Adam([g for g in groups if g["params"]])
    trained = {id(p) for p in params}
    for p in net.parameters():  # no gradients for the frozen layers (saves the backward through LISTA's W)
        p.requires_grad_(id(p) in trained)
    since_best, window, done = 0, [], 0
    for step in range(1, num_steps + 1):
        x, y = sparse_coding_batch(matrix, batch_size, gen, sparsity=sparsity, snr_db=snr_db)
        loss = ((net(y, num_layers=k) - x) ** 2).sum(dim=1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        window.append(float(loss.detach()))
        done = step
        if step % eval_every == 0 or step == num_steps:
            losses.append(sum(window) / len(window))
            window = []
            value = _layer_nmse_db(net, y_val, x_val, k)
            if value < best:
                best, since_best = value, 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                since_best += step % eval_every or eval_every
            if patience is not None and since_best >= patience:
                break
    for p in net.parameters():
        p.requires_grad_(True)
    net.load_state_dict(best_state)
    return done, best

"""Stage-wise training of the sparse-coding networks on a tiny problem (seconds each)."""

from __future__ import annotations

import math

import pytest
import torch

from inverselab.functionals import L1
from inverselab.noise import make_generator
from inverselab.operators import GaussianMatrix
from inverselab.solvers.proximal_gradient import ista
from inverselab.training.checkpoints import read_sidecar
from inverselab.training.sparse_coding import (
    SPARSE_CODING_MODELS,
    evaluate_nmse_db,
    sparse_coding_batch,
    sparse_coding_matrix,
    train_sparse_coding,
)
from inverselab.weights import load_model

K = 4


@pytest.fixture(scope="module")
def tiny():
    A = GaussianMatrix(60, 30, generator=0, normalize_columns=True)
    x, y = sparse_coding_batch(A.matrix.float(), 500, make_generator(99))
    # ISTA with K iterations from 0, at the best of a few lambdas (about -3.1 dB here)
    step = 1 / float(torch.linalg.matrix_norm(A.matrix, ord=2)) ** 2
    ista_db = min(
        10 * math.log10(float(((r.x - x) ** 2).sum() / (x**2).sum()))
        for r in (
            ista(y, A, L1(lam), step=step, x0=torch.zeros_like(x), num_iter=K, tol=0) for lam in (0.05, 0.2)
        )
    )
    return A, x, y, ista_db


@pytest.mark.parametrize("name", SPARSE_CODING_MODELS)
def test_short_training_beats_ista_and_loss_falls(tiny, name):
    A, x, y, ista_db = tiny
    steps = (30, 15, 15) if name == "lista" else (60, 30, 30)
    net, hist = train_sparse_coding(name, K, A=A, steps=steps, lr=5e-3, eval_every=10, val_size=200, seed=0)
    held_out = evaluate_nmse_db(net, y, x)
    assert len(held_out) == K
    assert held_out[-1] < ista_db - 3, (held_out, ista_db)
    assert hist["nmse_db_per_layer"][-1] < hist["initial_nmse_db_per_layer"][-1] - 1
    losses = hist["loss"]
    assert sum(losses[-3:]) / 3 < 0.5 * losses[0]
    assert all(math.isfinite(v) for v in losses)
    assert [r["layer"] for r in hist["layers"]] == list(range(1, K + 1))
    assert [s["lr"] for s in hist["layers"][0]["stages"]] == pytest.approx([5e-3, 1e-3, 1e-4])


def test_saves_weights_with_sidecar(tmp_path):
    A = GaussianMatrix(40, 20, generator=0, normalize_columns=True)
    net, hist = train_sparse_coding(
        "alista", 2, A=A, steps=5, eval_every=5, val_size=50, seed=3, out=tmp_path / "alista",
        command="inverselab train cs-sparse-250x500 --model alista",
    )  # fmt: skip
    meta = read_sidecar(tmp_path / "alista")
    assert meta["model"] == "alista" and meta["network_config"] == net.config
    assert meta["preset"] == "cs-sparse-250x500" and meta["seed"] == 3
    assert meta["command"].startswith("inverselab train")
    assert meta["metrics"]["nmse_db"] == pytest.approx(hist["nmse_db_per_layer"][-1])
    assert meta["data"]["matrix_seed"] is None  # A was given, not drawn from the preset
    assert meta["metrics"]["stage_steps"] == [[5, 5, 5], [5, 5, 5]]
    twin = load_model(tmp_path / "alista")
    twin.check_matrix(A)
    yb = torch.randn(3, 20)
    torch.testing.assert_close(twin(yb), net(yb))


def test_preset_matrix_is_make_problems():
    from inverselab.presets import make_problem

    A = sparse_coding_matrix("cs-sparse-250x500", seed=0)
    torch.testing.assert_close(A.matrix, make_problem("cs-sparse-250x500", seed=0).A.matrix)
    with pytest.raises(ValueError, match="vector"):
        sparse_coding_matrix("denoise-sigma25")


def test_noisy_batches_have_the_snr():
    M = torch.randn(50, 100, generator=torch.Generator().manual_seed(0)) / 50**0.5
    x, y = sparse_coding_batch(M, 400, make_generator(1), snr_db=20)
    clean = x @ M.T
    snr = 10 * math.log10(float(clean.var()) / float((y - clean).var()))
    assert abs(snr - 20) < 0.5


def test_bad_arguments_are_named():
    A = GaussianMatrix(40, 20, generator=0)
    with pytest.raises(ValueError, match="model_name"):
        train_sparse_coding("unet", 2, A=A)
    with pytest.raises(ValueError, match="steps must have 3 entries"):
        train_sparse_coding("lista-cp", 2, A=A, steps=(1, 2))
    with pytest.raises(ValueError, match="lr"):
        train_sparse_coding("lista-cp", 2, A=A, lr=0)


@pytest.mark.parametrize("name", SPARSE_CODING_MODELS)
def test_warm_start_copies_the_previous_layers_parameters(name):
    from inverselab.networks import NETWORKS
    from inverselab.training.sparse_coding import _copy_layer

    A = GaussianMatrix(40, 20, generator=0, normalize_columns=True)
    net = NETWORKS[name](A, 3)
    with torch.no_grad():
        for p in net.layer_parameters(0):
            p.add_(0.1)
    before = [p.detach().clone() for p in net.parameters()]
    _copy_layer(net, 0, 1)
    layer0 = net.layer_parameters(0)
    layer1 = net.layer_parameters(1)
    own = layer1 if not (name == "lamp" and net.tied) else layer1[-1:]
    for p, q in zip(reversed(own), reversed(layer0), strict=False):
        assert torch.equal(p, q)
    # layer 3 and anything shared are untouched
    ids = {id(p) for p in own}
    for p, b in zip(net.parameters(), before, strict=True):
        if id(p) not in ids:
            assert torch.equal(p, b)


def test_patience_ends_a_stage_without_improvement():
    """With ``patience`` a stage stops once that many steps bring no better held-out NMSE (the papers' rule):
    a huge cap is not reached once a 2-parameter layer has converged, and each stage kept its best
    parameters."""
    A = GaussianMatrix(40, 20, generator=0, normalize_columns=True)
    _, hist = train_sparse_coding(
        "alista", 1, A=A, steps=(5000, 5000, 5000), lr=1e-2, patience=30, eval_every=10, val_size=50
    )
    for stage in hist["layers"][0]["stages"]:
        assert 30 <= stage["steps"] < 5000, stage
        assert stage["best_nmse_db"] <= stage["start_nmse_db"]


def test_resume_after_a_layer_gives_the_uninterrupted_result(tmp_path):
    """A per-layer checkpoint (network, batch generator, history) lets a run stopped after layer 2 of 3 end
    with exactly the weights and history of the run that was never stopped."""
    import shutil

    from inverselab.training.checkpoints import latest_checkpoint

    A = GaussianMatrix(40, 20, generator=0, normalize_columns=True)
    kw = dict(A=A, steps=(15, 5, 5), lr=5e-3, eval_every=5, val_size=50, seed=2)
    full, hist = train_sparse_coding("lista-cp", 3, checkpoint_dir=tmp_path / "full", **kw)
    assert latest_checkpoint(tmp_path / "full").name == "step-000003"
    # the run "killed" after layer 2: its directory holds the layer-2 checkpoint only
    shutil.copytree(tmp_path / "full" / "step-000002", tmp_path / "cut" / "step-000002")
    lines = []
    net, again = train_sparse_coding(
        "lista-cp", 3, checkpoint_dir=tmp_path / "cut", resume=True, progress=lines.append, **kw
    )
    assert lines[0].startswith("lista-cp: resumed after layer 2/3") and len(lines) == 2
    for p, q in zip(net.parameters(), full.parameters(), strict=True):
        assert torch.equal(p, q)
    assert again["nmse_db_per_layer"] == hist["nmse_db_per_layer"]
    assert again["layers"] == hist["layers"] and again["loss"] == hist["loss"]
    # other settings are refused, naming what differs
    with pytest.raises(ValueError, match="training"):
        train_sparse_coding("lista-cp", 3, checkpoint_dir=tmp_path / "cut", resume=True, **{**kw, "lr": 1e-3})
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train_sparse_coding("lista-cp", 3, checkpoint_dir=tmp_path / "none", resume=True, **kw)


def test_weight_lr_moves_the_matrices_at_their_own_rate():
    """``weight_lr`` sets the matrices' learning rate apart from the scalars': a tiny one leaves ``W`` almost
    where it started while the thresholds still train (the recipe for LISTA-CP's analytic start)."""
    from inverselab.networks import NETWORKS

    A = GaussianMatrix(40, 20, generator=0, normalize_columns=True)
    start = NETWORKS["lista-cp"](A, 2, init="analytic")
    kw = dict(A=A, steps=(40, 0, 0), lr=1e-2, eval_every=10, val_size=50, model_kwargs={"init": "analytic"})
    slow, _ = train_sparse_coding("lista-cp", 2, weight_lr=1e-7, **kw)
    fast, _ = train_sparse_coding("lista-cp", 2, **kw)
    moved = lambda net: float((net.W[0] - start.W[0]).detach().abs().max())  # noqa: E731
    assert moved(slow) < 1e-5 < 1e-3 < moved(fast)
    assert abs(float(slow.theta[0].detach()) - float(start.theta[0].detach())) > 1e-2
    with pytest.raises(ValueError, match="weight_lr"):
        train_sparse_coding("lista-cp", 2, A=A, weight_lr=-1.0)

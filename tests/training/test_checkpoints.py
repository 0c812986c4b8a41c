"""Weights files and training checkpoints: bit-exact round trips, corruption and mismatch errors, resume."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest
import torch
from torch import nn

from inverselab.training import checkpoints
from inverselab.training.checkpoints import (
    FORMAT_VERSION,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    read_sidecar,
    save_checkpoint,
    save_weights,
)

META = {
    "model": "mlp",
    "config": {"width": 16},
    "preset": "denoise-sigma25",
    "seed": 7,
    "metrics": {"psnr": 31.5},
}


class Net(nn.Module):
    """A tiny MLP with two kinds of dropout: one driven by a generator, one by torch's global RNG."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.fc1 = nn.Linear(6, width)
        self.fc2 = nn.Linear(width, 2)
        self.drop = nn.Dropout(0.2)
        self.register_buffer("scale", torch.tensor([1.0, 2.0], dtype=torch.float64))

    def forward(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        h = torch.relu(self.fc1(x))
        keep = torch.rand(h.shape, generator=generator) > 0.3
        h = self.drop(h * keep / 0.7)
        return self.fc2(h) * self.scale.float()


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# ------------------------------------------------------------------------------------------------ weights


def test_weights_round_trip_bit_exact_with_sidecar(tmp_path):
    torch.manual_seed(0)
    net = Net()
    state = net.state_dict()
    state["extra.complex"] = torch.randn(3, dtype=torch.complex64)
    path = save_weights(tmp_path / "sub" / "mlp", state, META)
    assert path == tmp_path / "sub" / "mlp.safetensors"
    loaded, meta = load_weights(tmp_path / "sub" / "mlp.json")
    assert list(loaded) == list(state)
    for k, v in state.items():
        assert loaded[k].dtype == v.dtype and torch.equal(loaded[k], v), k
    sidecar = json.loads((tmp_path / "sub" / "mlp.json").read_text())
    assert sidecar == meta == read_sidecar(path)
    assert sidecar["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert {k: sidecar[k] for k in META} == META
    assert sidecar["format_version"] == FORMAT_VERSION and sidecar["inverselab_version"]
    assert sidecar["tensors"]["fc1.weight"] == {"dtype": "float32", "shape": [16, 6]}
    assert sidecar["tensors"]["scale"]["dtype"] == "float64"
    # Loading into a fresh model reproduces the outputs exactly.
    other = Net()
    loaded.pop("extra.complex")
    other.load_state_dict(loaded)
    x = torch.randn(4, 6)
    assert torch.equal(
        other.eval()(x, torch.Generator().manual_seed(1)), net.eval()(x, torch.Generator().manual_seed(1))
    )


def test_weights_corruption_is_detected(tmp_path):
    path = save_weights(tmp_path / "w.safetensors", Net(), META)
    _flip_byte(path, path.stat().st_size - 5)
    with pytest.raises(ValueError, match=r"w\.safetensors is corrupted: sha256 mismatch"):
        load_weights(path)


def test_weights_missing_files_and_bad_json_name_the_file(tmp_path):
    path = save_weights(tmp_path / "w", Net(), META)
    sidecar = tmp_path / "w.json"
    text = sidecar.read_text()
    sidecar.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match=r"w\.json is not valid JSON.*truncated"):
        load_weights(path)
    sidecar.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match=r"w\.json is not an inverselab"):
        load_weights(path)
    sidecar.write_text(text.replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99'))
    with pytest.raises(ValueError, match="format_version 99"):
        load_weights(path)
    sidecar.unlink()
    with pytest.raises(FileNotFoundError, match=r"sidecar .*w\.json not found"):
        load_weights(path)
    path.unlink()
    with pytest.raises(FileNotFoundError, match=r"weights file .*w\.safetensors not found"):
        load_weights(path)


def test_weights_mismatch_with_model_is_reported(tmp_path):
    path = save_weights(tmp_path / "w", Net(width=16), META)
    with pytest.raises(ValueError, match=r"does not match the model: shape mismatch 'fc1\.weight' \(16, 6\)"):
        load_weights(path, expect=Net(width=8))
    other = nn.Sequential(nn.Linear(6, 16))
    with pytest.raises(
        ValueError, match=r"missing keys \['0\.weight', '0\.bias'\]; unexpected \['fc1\.bias', 'fc1\.weight'"
    ) as e:
        load_weights(path, expect=other)
    assert "\n" not in str(e.value)
    state, _ = load_weights(path, expect=Net(width=16).state_dict())
    assert len(state) == 5


def test_weights_reject_bad_meta_and_state(tmp_path):
    with pytest.raises(ValueError, match="reserved keys"):
        save_weights(tmp_path / "w", Net(), {"sha256": "x"})
    with pytest.raises(TypeError, match="meta must be JSON-serializable"):
        save_weights(tmp_path / "w", Net(), {"device": torch.device("cpu")})
    with pytest.raises(TypeError, match=r"model_or_state_dict\['a'\] must be a torch.Tensor"):
        save_weights(tmp_path / "w", {"a": 1.0}, {})
    assert not list(tmp_path.iterdir())


def test_shared_tensors_are_saved(tmp_path):
    net = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    net[1].weight = net[0].weight  # tied weights share storage, which safetensors refuses by itself
    state, _ = load_weights(save_weights(tmp_path / "tied", net, {}), expect=net)
    assert torch.equal(state["0.weight"], state["1.weight"])


# -------------------------------------------------------------------------------------------- checkpoints


def _build(seed: int, lr: float = 1e-2, betas=(0.85, 0.99)):
    torch.manual_seed(seed)  # module init draws from the global RNG
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=betas, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30, eta_min=1e-4)
    gens = {
        "data": torch.Generator().manual_seed(seed + 1),
        "dropout": torch.Generator().manual_seed(seed + 2),
    }
    return model, opt, sched, gens


_X = torch.linspace(-1, 1, 64 * 6).reshape(64, 6).sin()
_Y = torch.stack([_X.sum(1), (_X**2).mean(1)], dim=1)


def _train(model, opt, sched, gens, start: int, stop: int) -> None:
    model.train()
    for _ in range(start, stop):
        idx = torch.randint(0, len(_X), (8,), generator=gens["data"])
        loss = ((model(_X[idx], gens["dropout"]) - _Y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    steps, k = 30, 13
    ref = _build(seed=0)
    _train(*ref, 0, steps)

    run = _build(seed=0)
    _train(*run, 0, k)
    model, opt, sched, gens = run
    rng_at_save = torch.get_rng_state()
    save_checkpoint(
        tmp_path, model=model, optimizer=opt, scheduler=sched, generators=gens, step=k, epoch=1, meta=META
    )
    _train(*run, k, 20)  # the run goes on and is killed before its next checkpoint

    fresh = _build(seed=123)
    assert not torch.equal(fresh[0].fc1.weight, ref[0].fc1.weight)
    model, opt, sched, gens = fresh
    meta = load_checkpoint(tmp_path, model=model, optimizer=opt, scheduler=sched, generators=gens)
    assert torch.equal(torch.get_rng_state(), rng_at_save)
    assert meta["step"] == k and meta["epoch"] == 1 and meta["config"] == {"width": 16}
    assert opt.param_groups[0]["betas"] == (0.85, 0.99) and isinstance(opt.param_groups[0]["betas"], tuple)
    _train(*fresh, meta["step"], steps)
    for (name, a), b in zip(ref[0].state_dict().items(), fresh[0].state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert sched.state_dict() == ref[2].state_dict()
    ref_state, state = ref[1].state_dict()["state"], opt.state_dict()["state"]
    assert all(torch.equal(ref_state[i][s], state[i][s]) for i in ref_state for s in ref_state[i])

    # The test has teeth: without the generators (or the global RNG) the continuation differs.
    partial = _build(seed=123)
    load_checkpoint(tmp_path, model=partial[0], optimizer=partial[1], scheduler=partial[2])
    _train(*partial, k, steps)
    assert not torch.equal(partial[0].fc1.weight, ref[0].fc1.weight)


def test_state_dicts_survive_without_pickle(tmp_path):
    model = Net()
    opt = torch.optim.Adam(model.parameters(), betas=(0.8, 0.95))
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
    plateau.step(1.5)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    save_checkpoint(tmp_path, model=model, optimizer=opt, scheduler=plateau, scaler=scaler, step=1, epoch=0)
    opt2 = torch.optim.Adam(model.parameters())
    plateau2 = torch.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=99)
    scaler2 = torch.amp.GradScaler("cpu")
    load_checkpoint(tmp_path, model=Net(), optimizer=opt2, scheduler=plateau2, scaler=scaler2)
    assert opt2.param_groups[0]["betas"] == (0.8, 0.95) and type(opt2.param_groups[0]["betas"]) is tuple
    assert plateau2.state_dict() == plateau.state_dict()
    assert plateau2.mode_worse == float("inf") and plateau2.best == 1.5
    assert scaler2.get_scale() == 1024.0
    record = json.loads((tmp_path / "step-000001" / "checkpoint.json").read_text())
    assert record["optimizer"]["state"]["param_groups"][0]["betas"] == {"__tuple__": [0.8, 0.95]}
    assert record["scheduler"]["state"]["mode_worse"] == {"__float__": "inf"}
    # Encoding is exact on nested structures with non-string keys, tuples, non-finite floats and tensors.
    value = {"a": [1, 2.5, None, True, "s"], 3: (float("-inf"), torch.arange(3)), "__x": {(1, 2): [()]}}
    tensors: dict = {}
    decoded = checkpoints._decode(
        json.loads(json.dumps(checkpoints._encode(value, "v", tensors))), tensors, Path("x")
    )
    assert decoded.keys() == value.keys() and decoded["a"] == value["a"] and decoded["__x"] == value["__x"]
    assert decoded[3][0] == float("-inf") and torch.equal(decoded[3][1], torch.arange(3))
    with pytest.raises(TypeError, match="cannot be stored without pickle"):
        checkpoints._encode({"f": print}, "v", {})


def test_latest_pointer_and_pruning(tmp_path):
    model, opt, sched, gens = _build(seed=0)
    for step in (1, 2, 3, 4):
        out = save_checkpoint(tmp_path, model=model, optimizer=opt, step=step, epoch=0, keep=2)
        assert out == tmp_path / f"step-{step:06d}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step-000003", "step-000004"]
    assert (tmp_path / "latest").read_text() == "step-000004\n"
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000004"
    assert sorted(p.name for p in (tmp_path / "step-000004").iterdir()) == [
        "checkpoint.json",
        "model.json",
        "model.safetensors",
        "state.safetensors",
    ]
    # The model of a checkpoint is a weights pair on its own.
    _, meta = load_weights(tmp_path / "step-000004" / "model", expect=model)
    assert meta["step"] == 4
    # keep=1, then resuming from an older checkpoint: later ones (an abandoned continuation) are removed.
    save_checkpoint(tmp_path, model=model, step=5, epoch=0, keep=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step-000005"]
    save_checkpoint(tmp_path, model=model, step=7, epoch=0, keep=3)
    save_checkpoint(tmp_path, model=model, step=6, epoch=0, keep=3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "step-000005", "step-000006"]
    save_checkpoint(tmp_path, model=model, step=6, epoch=1, keep=3)  # the same step again replaces it
    assert load_checkpoint(tmp_path, model=model)["epoch"] == 1
    assert latest_checkpoint(tmp_path / "nothing-here") is None
    with pytest.raises(ValueError, match="keep must be at least 1"):
        save_checkpoint(tmp_path, model=model, step=8, epoch=0, keep=0)
    with pytest.raises(ValueError, match="step must be a non-negative integer"):
        save_checkpoint(tmp_path, model=model, step=-1, epoch=0)
    with pytest.raises(ValueError, match=r"meta\['step'\] = 3 disagrees with step=8"):
        save_checkpoint(tmp_path, model=model, step=8, epoch=0, meta={"step": 3})


def test_half_written_checkpoints_are_ignored_and_cleaned(tmp_path):
    model = Net()
    save_checkpoint(tmp_path, model=model, step=4, epoch=0)
    # A save killed midway: a temporary directory of a dead process, and no pointer update.
    stray = tmp_path / ".step-000009.tmp-999999999"
    stray.mkdir()
    (stray / "model.safetensors").write_bytes(b"\x00" * 10)
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000004"
    # A stale or missing pointer falls back to the newest complete step directory.
    (tmp_path / "step-000002").mkdir()  # no checkpoint.json: not complete
    (tmp_path / "latest").write_text("step-000099\n")
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000004"
    (tmp_path / "latest").unlink()
    assert latest_checkpoint(tmp_path) == tmp_path / "step-000004"
    assert load_checkpoint(tmp_path, model=model)["step"] == 4
    # The next save removes the dead process's leftovers but not those of a live one.
    live = tmp_path / f".step-000010.tmp-{os.getppid()}"
    live.mkdir()
    save_checkpoint(tmp_path, model=model, step=5, epoch=0)
    assert not stray.exists() and live.exists()


def test_corrupted_or_mismatched_checkpoints_give_one_line_errors(tmp_path):
    model, opt, sched, gens = _build(seed=0)
    _train(model, opt, sched, gens, 0, 2)
    ckpt = save_checkpoint(
        tmp_path, model=model, optimizer=opt, scheduler=sched, generators=gens, step=2, epoch=0
    )

    def error(exc=ValueError, **kw) -> str:
        kw.setdefault("model", Net())
        with pytest.raises(exc) as e:
            load_checkpoint(tmp_path, **kw)
        message = str(e.value)
        assert "\n" not in message and str(ckpt) in message
        return message

    fresh = Net()
    sgd = torch.optim.SGD(fresh.parameters(), lr=0.1)
    assert "optimizer is AdamW, this one is SGD" in error(optimizer=sgd)
    wide = Net(width=8)
    assert "does not match the model" in error(model=wide)
    one_group = torch.optim.AdamW(fresh.fc1.parameters())
    assert "group 0 has 4 parameters in the checkpoint, 2 now" in error(model=fresh, optimizer=one_group)
    swapped = torch.optim.AdamW([*fresh.fc2.parameters(), *fresh.fc1.parameters()])
    assert "parameter 0 of group 0 has shape (16, 6) in the checkpoint, (2, 16) now" in error(
        optimizer=swapped
    )
    step_lr = torch.optim.lr_scheduler.StepLR(torch.optim.AdamW(fresh.parameters()), 5)
    assert "scheduler is CosineAnnealingLR" in error(scheduler=step_lr)
    assert "no state for generators ['noise']" in error(generators={"noise": torch.Generator()})
    assert "has no scaler state" in error(scaler=torch.amp.GradScaler("cpu"))
    # Failed loads leave the objects as they were.
    before = fresh.fc1.weight.clone()
    error(model=fresh, optimizer=swapped)
    assert torch.equal(fresh.fc1.weight, before)

    _flip_byte(ckpt / "state.safetensors", -3)
    assert re.search(r"state\.safetensors is corrupted: sha256 mismatch", error())
    (ckpt / "state.safetensors").unlink()
    assert "state.safetensors not found" in error(FileNotFoundError)
    _flip_byte(ckpt / "model.safetensors", 100)
    assert "model.safetensors is corrupted: sha256 mismatch" in error()
    text = (ckpt / "checkpoint.json").read_text()
    (ckpt / "checkpoint.json").write_text(text[:-40])
    assert "checkpoint.json is not valid JSON" in error(exc=ValueError)
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        load_checkpoint(tmp_path / "empty", model=model)


def test_no_pickle_in_the_source():
    source = Path(checkpoints.__file__).read_text()
    pattern = r"torch\.load\b|torch\.serialization|weights_only|(import|from)\s+pickle|pickle\.|np\.load"
    assert not re.search(pattern, source)

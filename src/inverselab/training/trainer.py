"""Supervised training of a network for a preset: measurements are simulated on the fly.

Two kinds of model are trained:

- **denoisers** (``dncnn``, ``drunet``) on denoising presets: ``y = x + sigma n``; DRUNet sees a random
  ``sigma`` per image from ``sigma_range`` (one network for a range of noise levels);
- **post-processing networks** (``unet``) on any image preset: ``x_hat = x0 + net(x0)`` with ``x0`` the
  preset's direct baseline (FBP, zero-filled, adjoint) of ``y = noise(A(x))``
  (:class:`~inverselab.networks.PostProcess`).

Training images come from :func:`inverselab.data.training_images` (generated phantoms and crops of the
training photos; never the bench test images). The operator is built once per run, for ``patch x patch``
images, with the run's seed. Each epoch ends with a validation on held-out generated images (the network's
PSNR/SSIM next to its input's) and a checkpoint; ``resume=True`` continues from the last checkpoint and gives
the same weights as an uninterrupted run.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._checks import check_choice, check_number

__all__ = ["TrainConfig", "build_model", "train"]

#: Small defaults for CPU training (the published sizes are the classes' defaults).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "unet": {"chans": 16, "num_pool_layers": 3},
    "dncnn": {"depth": 10, "features": 32},
    "drunet": {},
}


@dataclass
class TrainConfig:
    """What to train and how (recorded in every checkpoint and in the weights' sidecar).

    Attributes:
        preset: Preset name; its operator and noise simulate the measurements.
        model: ``"unet"`` (post-processing), ``"dncnn"`` or ``"drunet"`` (denoisers, denoising presets only).
        model_config: Network keyword arguments overriding :data:`MODEL_DEFAULTS`.
        loss: ``"mse"``, ``"l1"`` or ``"ssim"``.
        epochs: Number of epochs.
        steps_per_epoch: Optimizer steps per epoch.
        batch_size: Images per step.
        lr: Peak AdamW learning rate (cosine decay to 0 over the run).
        weight_decay: AdamW weight decay.
        grad_clip: Clip the gradient norm to this value (``None``: no clipping).
        patch: Side length of the training images.
        data: Training source (see :data:`inverselab.data.TRAINING_SOURCES`); ``None``: ``"natural"`` for
            presets tuned on photos, ``"phantoms"`` for the others.
        num_train: Size of the training pool (generated once from the seed).
        num_val: Number of held-out validation images (another seed).
        sigma_range: For DRUNet, the range of training noise levels (default: 0 to twice the preset's).
        seed: Seeds the data, the operator, the initialization, the batches and the noise.
    """

    preset: str
    model: str
    model_config: dict[str, Any] = field(default_factory=dict)
    loss: str = "mse"
    epochs: int = 5
    steps_per_epoch: int = 50
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float | None = 1.0
    patch: int = 64
    data: str | None = None
    num_train: int = 256
    num_val: int = 16
    sigma_range: tuple[float, float] | None = None
    seed: int = 0

    def check(self) -> TrainConfig:
        """Validate every field (errors name the field); returns ``self``."""
        from ..data import TRAINING_SOURCES
        from ..networks import NETWORKS
        from ..presets import get_preset
        from .losses import LOSSES

        p = get_preset(self.preset)
        check_choice("model", self.model, tuple(NETWORKS))
        check_choice("loss", self.loss, tuple(LOSSES))
        if p.kind != "image":
            raise ValueError(f"preset must be an image preset to train a network, got {self.preset!r}")
        if self.model != "unet" and not self.preset.startswith("denoise"):
            raise ValueError(f"model {self.model!r} is a denoiser: preset must be a denoising preset")
        for name in ("epochs", "steps_per_epoch", "batch_size", "num_train", "num_val"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("patch", self.patch, low=16, high=1024, integer=True)
        check_number("lr", self.lr, low=0, low_inclusive=False)
        check_number("weight_decay", self.weight_decay, low=0)
        check_number("seed", self.seed, low=0, integer=True)
        if self.grad_clip is not None:
            check_number("grad_clip", self.grad_clip, low=0, low_inclusive=False)
        if self.data is not None:
            check_choice("data", self.data, TRAINING_SOURCES)
        return self

    @property
    def network_config(self) -> dict[str, Any]:
        return {**MODEL_DEFAULTS[self.model], **self.model_config}

    @property
    def data_source(self) -> str:
        from ..presets import get_preset

        return self.data or ("natural" if get_preset(self.preset).sample == "camera" else "phantoms")


def build_model(config: TrainConfig) -> torch.nn.Module:
    """The network of ``config``: a denoiser, or a :class:`~inverselab.networks.PostProcess` U-Net starting
    from the preset's direct baseline (its last layer zero, so the untrained model is the baseline)."""
    from ..networks import NETWORKS, PostProcess
    from ..presets import get_preset

    if config.model == "unet":
        p = get_preset(config.preset)
        net = NETWORKS["unet"](1, 1, **config.network_config)
        # Zero last layer: training starts exactly at the direct method and can only learn to improve on it.
        torch.nn.init.zeros_(net.final.weight)
        torch.nn.init.zeros_(net.final.bias)
        return PostProcess(net, p.baseline)
    return NETWORKS[config.model](1, **config.network_config)


class _Simulator:
    """Clean images -> (measurement, model input) for ``config`` (the operator built once)."""

    def __init__(self, config: TrainConfig):
        from ..noise import make_generator
        from ..presets import get_preset

        self.config = config
        self.preset = get_preset(config.preset)
        self.A, self.noise = self.preset.build((1, config.patch, config.patch), make_generator(config.seed))
        self.denoiser = config.model != "unet"
        sigma = float(getattr(self.noise, "sigma", 0.0))
        self.sigma = sigma
        lo, hi = config.sigma_range or ((0.0, 2 * sigma) if config.model == "drunet" else (sigma, sigma))
        self.sigma_range = (float(lo), float(hi))

    def measure(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(y, sigma)``: measurements of ``x`` and, for denoisers, the per-image noise level."""
        if self.denoiser:
            lo, hi = self.sigma_range
            sigma = lo + (hi - lo) * torch.rand(x.shape[0], generator=gen)
            n = torch.randn(x.shape, generator=gen)
            return x + sigma.reshape(-1, 1, 1, 1) * n, sigma
        with torch.no_grad():
            return self.noise(self.A(x), gen), None

    def run(self, model: torch.nn.Module, y: torch.Tensor, sigma: torch.Tensor | None) -> torch.Tensor:
        return model(y, sigma) if self.denoiser else model(y, self.A)

    def baseline(self, model: torch.nn.Module, y: torch.Tensor) -> torch.Tensor:
        """What the network starts from: the noisy image, or the direct reconstruction."""
        return y if self.denoiser else model.initial_reconstruction(y, self.A)


def _validate(model, sim: _Simulator, x_val: torch.Tensor, seed: int) -> dict[str, float]:
    from ..metrics import psnr, ssim
    from ..noise import make_generator

    model.eval()
    gen = make_generator(seed)  # the same noise at every validation
    with torch.no_grad():
        if sim.denoiser:  # validate at the preset's own noise level
            y = x_val + sim.sigma * torch.randn(x_val.shape, generator=gen)
            sigma = torch.full((x_val.shape[0],), sim.sigma)
        else:
            y, sigma = sim.measure(x_val, gen)
        out = sim.run(model, y, sigma).clamp(0, 1)
        base = sim.baseline(model, y).clamp(0, 1)
    model.train()
    return {
        "val_psnr": float(psnr(out, x_val).mean()),
        "val_ssim": float(ssim(out, x_val).mean()),
        "input_psnr": float(psnr(base, x_val).mean()),
    }


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = False,
    command: str = "",
) -> dict[str, Any]:
    """Train ``config.model`` for ``config.preset``; write checkpoints, ``log.csv`` and the final weights.

    Args:
        config: What to train.
        out: Run directory: ``checkpoints/``, ``log.csv``, ``model.safetensors`` + ``model.json``.
        resume: Continue from the last checkpoint in ``out`` (an error if there is none).
        progress: Show a progress bar (loss, samples/s, time left).
        command: The command line, recorded in the sidecars.

    Returns:
        The final weights' sidecar (config, data, metrics, sha256, ...).
    """
    from ..data import describe_source, training_images
    from .checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint, save_weights
    from .losses import get_loss

    config.check()
    rank, world = _distributed()
    if config.batch_size % world:
        raise ValueError(f"batch_size must be a multiple of the {world} processes, got {config.batch_size}")
    out = Path(out)
    ckpt_dir = out / "checkpoints"
    torch.manual_seed(config.seed)  # initialization
    model = build_model(config)
    model.train()
    total = config.epochs * config.steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    g_batch = torch.Generator().manual_seed(config.seed + 1)
    g_noise = torch.Generator().manual_seed(config.seed + 2)
    generators = {"batch": g_batch, "noise": g_noise}
    source = config.data_source
    x_train = training_images(source, config.num_train, config.patch, config.seed + 3)
    x_val = training_images(source, config.num_val, config.patch, config.seed + 4)
    sim = _Simulator(config)
    loss_fn = get_loss(config.loss)
    meta = {
        "model": config.model,
        "network_config": json.loads(json.dumps(_bare(model).config)),  # complete: cls(**config) rebuilds it
        "initial": getattr(model, "initial", None),  # the direct method a post-processing network starts from
        "train_config": json.loads(json.dumps({**asdict(config), "sigma_range": sim.sigma_range})),
        "preset": config.preset,
        "command": command,
        "seed": config.seed,
        "data": describe_source(source, config.num_train, config.patch, config.seed + 3),
        "validation_data": describe_source(source, config.num_val, config.patch, config.seed + 4),
    }
    step, epoch, history = 0, 0, []
    if resume:
        if latest_checkpoint(ckpt_dir) is None:
            raise ValueError(f"resume: no checkpoint in {ckpt_dir}")
        saved = load_checkpoint(ckpt_dir, model=model, optimizer=opt, scheduler=sched, generators=generators)
        if saved.get("train_config") != meta["train_config"]:
            raise ValueError(f"resume: {ckpt_dir} was written for another configuration; use another --out")
        step, epoch, history = int(saved["step"]), int(saved["epoch"]), list(saved.get("history", []))
    elif latest_checkpoint(ckpt_dir) is not None:
        raise ValueError(
            f"out {out} already holds checkpoints; pass resume=True (--resume) or choose another"
        )
    out.mkdir(parents=True, exist_ok=True)
    net = model
    if world > 1:  # each process takes its share of every global batch; DDP averages the gradients
        net = torch.nn.parallel.DistributedDataParallel(model)
    share = slice(rank * config.batch_size // world, (rank + 1) * config.batch_size // world)

    from tqdm.auto import tqdm

    bar = tqdm(
        total=total,
        initial=step,
        disable=not progress or rank != 0,
        unit="step",
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        while epoch < config.epochs:
            start, losses = time.perf_counter(), []
            for _ in range(config.steps_per_epoch):
                # Every process draws the same global batch and noise, then keeps its share of it.
                idx = torch.randint(config.num_train, (config.batch_size,), generator=g_batch)
                x = x_train[idx]
                y, sigma = sim.measure(x, g_noise)
                x, y = x[share], y[share]
                sigma = None if sigma is None else sigma[share]
                loss = loss_fn(sim.run(net, y, sigma), x)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                opt.step()
                sched.step()
                step += 1
                losses.append(_mean_over_processes(loss.detach(), world))
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4g}", epoch=epoch + 1, refresh=False)
            epoch += 1
            seconds = time.perf_counter() - start
            row = {
                "epoch": epoch,
                "step": step,
                "train_loss": sum(losses) / len(losses),
                **_validate(model, sim, x_val, config.seed + 5),
                "lr": opt.param_groups[0]["lr"],
                "seconds": seconds,
                "samples_per_s": config.steps_per_epoch * config.batch_size / seconds,
            }
            history.append(row)
            if rank == 0:  # one writer; the others wait for the checkpoint below
                _write_log(out / "log.csv", history)
                bar.write(
                    f"epoch {epoch}: loss {row['train_loss']:.4g}, validation PSNR {row['val_psnr']:.2f} dB "
                    f"(input {row['input_psnr']:.2f} dB), {row['samples_per_s']:.0f} samples/s",
                    file=sys.stderr,
                )
                save_checkpoint(
                    ckpt_dir,
                    model=model,
                    optimizer=opt,
                    scheduler=sched,
                    generators=generators,
                    step=step,
                    epoch=epoch,
                    meta={**meta, "history": history},
                )
            _barrier(world)
    finally:
        bar.close()
    final = {k: history[-1][k] for k in ("val_psnr", "val_ssim", "input_psnr")}
    if rank == 0:
        facts = {**meta, "metrics": final, "history": history, "step": step}
        save_weights(out / "model", _bare(model), facts)
    _barrier(world)
    return json.loads((out / "model.json").read_text())


def _distributed() -> tuple[int, int]:
    """``(rank, world size)`` of an initialized ``torch.distributed`` process group, else ``(0, 1)``."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def _mean_over_processes(value: torch.Tensor, world: int) -> float:
    if world > 1:
        import torch.distributed as dist

        value = value.clone()
        dist.all_reduce(value)
        value /= world
    return value.item()


def _bare(model: torch.nn.Module) -> torch.nn.Module:
    """The network inside a :class:`~inverselab.networks.PostProcess` wrapper (else the model itself)."""
    return getattr(model, "net", model)


def _write_log(path: Path, history: list[dict[str, float]]) -> None:
    from .._files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)

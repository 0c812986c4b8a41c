"""Training the generative priors: a VAE, a DCGAN and a DDPM on a preset's image class.

``inverselab train cs-digits-32 --model vae|gan|ddpm`` fits a model of the *signals*, not of a
reconstruction: no operator and no noise enter the training, so one model serves every preset of its image
class and size (``cs-digits-32``, ``inpaint-digits-32`` and ``sr-digits-32`` share the digit models). The
reconstruction methods (CSGM, diffusion posterior sampling) bring the operator at solve time.

The run keeps the conventions of :func:`~inverselab.training.trainer.train`: per-epoch atomic checkpoints
that resume exactly (model, optimizer, random streams, and for the DDPM the exponential moving average of
the weights), ``log.csv``, and the final ``model.safetensors`` + ``model.json`` whose ``command`` reproduces
it. The DDPM's final weights are the moving average (Ho et al. 2020 sample with it); the GAN's have their
BatchNorm statistics recomputed over 2048 fresh codes
(:meth:`~inverselab.networks.DCGAN.calibrate_batchnorm`), so that eval-mode decoding, which CSGM uses,
matches training-mode outputs. Each run also writes
``samples.png``: 64 samples of the final model.

Example:
    >>> config = GenerativeConfig("cs-digits-32", "vae", epochs=1, steps_per_epoch=2, batch_size=4)
    >>> config.check().image_size
    32
"""

from __future__ import annotations

import copy
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .._checks import check_choice, check_number

__all__ = ["GENERATIVE_MODELS", "GENERATIVE_DEFAULTS", "GenerativeConfig", "train_generative"]

#: Models ``inverselab train --model`` fits as priors (no operator involved).
GENERATIVE_MODELS = ("vae", "gan", "ddpm")

#: Network keyword arguments of each model (``--net KEY=VALUE`` overrides them); small, for a CPU.
#: The DDPM's U-Net is narrower than the class default (16 channels at full resolution: 0.35 M parameters,
#: 2.5x faster to train on a CPU).
GENERATIVE_DEFAULTS: dict[str, dict[str, Any]] = {"vae": {}, "gan": {}, "ddpm": {"widths": [16, 32, 64]}}

#: Optimizer settings per model: Adam learning rate and betas (DCGAN's 2e-4 and beta1 = 0.5; Ho et al.'s 2e-4
#: for the DDPM; 1e-3 for the VAE).
_OPTIM = {"vae": (1e-3, (0.9, 0.999)), "gan": (2e-4, (0.5, 0.999)), "ddpm": (2e-4, (0.9, 0.999))}


@dataclass
class GenerativeConfig:
    """What to fit and how (recorded in every checkpoint and in the weights' sidecar).

    Attributes:
        preset: An image preset; its ``sample`` and ``size`` choose the image class and the image size
            (``"digits"`` presets: the digits' training split, :func:`inverselab.data.digits`).
        model: ``"vae"``, ``"gan"`` or ``"ddpm"``.
        model_config: Network keyword arguments overriding :data:`GENERATIVE_DEFAULTS`.
        epochs: Number of epochs.
        steps_per_epoch: Optimizer steps per epoch.
        batch_size: Images per step.
        lr: Adam learning rate (constant); ``None``: the model's usual one (VAE 1e-3, GAN and DDPM 2e-4).
        ema: DDPM only: decay of the exponential moving average of the weights that is saved and sampled.
        data: The training images: ``None`` for the preset's class, or a source of
            :func:`inverselab.data.training_images` (``"ellipses"``, ..., or a folder), drawn once
            (``num_train`` images) at the preset's size.
        num_train: Pool size when ``data`` is a generated source or a folder.
        seed: Seeds the initialization, the batches and the model's noise.
    """

    preset: str
    model: str
    model_config: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    steps_per_epoch: int = 100
    batch_size: int = 64
    lr: float | None = None
    ema: float = 0.999
    data: str | None = None
    num_train: int = 4096
    seed: int = 0

    def check(self) -> GenerativeConfig:
        """Validate every field (errors name the field); returns ``self``."""
        from ..data import TRAINING_SOURCES, is_folder_source
        from ..presets import get_preset

        p = get_preset(self.preset)
        check_choice("model", self.model, GENERATIVE_MODELS)
        if p.kind != "image":
            raise ValueError(
                f"preset must be an image preset to train a generative model, got {self.preset!r}"
            )
        for name in ("epochs", "steps_per_epoch", "batch_size", "num_train", "seed"):
            check_number(name, getattr(self, name), low=0 if name == "seed" else 1, integer=True)
        if self.lr is not None:
            check_number("lr", self.lr, low=0, low_inclusive=False)
        check_number("ema", self.ema, low=0, high=1, high_inclusive=False)
        if self.data is not None and self.data not in TRAINING_SOURCES and not is_folder_source(self.data):
            names = ", ".join(map(repr, TRAINING_SOURCES))
            raise ValueError(
                f"data must be one of {names} or an existing folder of images; got {self.data!r}"
            )
        if self.data is None and p.sample != "digits":
            raise ValueError(
                f"preset {self.preset!r} has no image class of its own (its test images are photos or "
                "phantoms): give data (a generated source such as 'ellipses', or a folder), or train on a "
                "digits preset such as cs-digits-32"
            )
        return self

    @property
    def image_size(self) -> int:
        from ..presets import get_preset

        return get_preset(self.preset).size

    @property
    def learning_rate(self) -> float:
        return float(self.lr if self.lr is not None else _OPTIM[self.model][0])

    @property
    def network_config(self) -> dict[str, Any]:
        return {**GENERATIVE_DEFAULTS[self.model], **self.model_config}


class _EMA(torch.nn.Module):
    """The trained model and its exponential moving average, one module so that checkpoints hold both."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.average = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, decay: float) -> None:
        for a, p in zip(self.average.parameters(), self.model.parameters(), strict=True):
            a.lerp_(p.detach(), 1 - decay)
        for a, b in zip(self.average.buffers(), self.model.buffers(), strict=True):
            a.copy_(b)


def _same_run(saved: object, now: dict[str, Any]) -> bool:
    """Whether a checkpoint's ``train_config`` is ``now``'s, except ``epochs``: the learning rate is constant,
    so a finished run may be extended (``--resume --epochs N``) and continues exactly as a longer run."""
    if not isinstance(saved, dict):
        return False
    return {k: v for k, v in saved.items() if k != "epochs"} == {
        k: v for k, v in now.items() if k != "epochs"
    }


def build_generative_model(config: GenerativeConfig) -> torch.nn.Module:
    """The untrained network of ``config`` (``NETWORKS[config.model](image_size=..., **network_config)``)."""
    from ..networks import NETWORKS

    return NETWORKS[config.model](image_size=config.image_size, **config.network_config)


def _images(config: GenerativeConfig) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Training pool, validation images and a one-line description of the data."""
    from ..data import describe_source, digits, training_images

    size = config.image_size
    if config.data is None:
        return (
            digits("train", size),
            digits("validation", size),
            f"digits: the 1400 images of the training split at {size} px",
        )
    pool = training_images(config.data, config.num_train, size, config.seed + 3)
    val = training_images(config.data, 64, size, config.seed + 4)
    return pool, val, describe_source(config.data, config.num_train, size, config.seed + 3)


def _loss(model: torch.nn.Module, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return model.training_loss(x, generator)


@torch.no_grad()
def _validate(model: torch.nn.Module, name: str, x_val: torch.Tensor, seed: int) -> dict[str, float]:
    """Held-out losses with a fixed generator (the same draws every epoch, so epochs compare)."""
    gen = torch.Generator(device=x_val.device).manual_seed(seed)
    was = model.training
    model.eval()
    if name == "gan":
        out = {
            "val_d_loss": float(model.discriminator_loss(x_val, gen)),
            "val_g_loss": float(model.generator_loss(x_val.shape[0], gen)),
        }
    else:
        out = {"val_loss": float(model.training_loss(x_val, gen))}
    model.train(was)
    return out


def train_generative(
    config: GenerativeConfig,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = False,
    command: str = "",
    device: str | torch.device = "auto",
    weights_dtype: str = "float32",
) -> dict[str, Any]:
    """Fit ``config.model`` to the images of ``config.preset``'s class; write checkpoints, ``log.csv``,
    ``samples.png`` and the final weights.

    Args:
        config: What to fit.
        out: Run directory.
        resume: Continue from the last checkpoint in ``out`` (an error if there is none).
        progress: Show a progress bar.
        command: The command line, recorded in the sidecars.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``.
        weights_dtype: Storage dtype of the final weights: ``"float32"`` or ``"float16"``.

    Returns:
        The final weights' sidecar.

    Raises:
        ValueError: A bad field of ``config`` (named); ``resume`` without a checkpoint or with one of another
            configuration; checkpoints in ``out`` without ``resume``.
    """
    from .checkpoints import latest_checkpoint, load_checkpoint, read_sidecar, save_checkpoint, save_weights
    from .trainer import WEIGHTS_DTYPES, _write_log, resolve_device

    config.check()
    check_choice("weights_dtype", weights_dtype, tuple(WEIGHTS_DTYPES))
    device = resolve_device(device)
    out = Path(out)
    ckpt_dir = out / "checkpoints"
    torch.manual_seed(config.seed)  # initialization, on the CPU: the same weights on any device
    model = build_generative_model(config)
    holder: torch.nn.Module = _EMA(model) if config.model == "ddpm" else model
    holder.to(device).train()
    lr, betas = config.learning_rate, _OPTIM[config.model][1]
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=betas)
    g_batch = torch.Generator().manual_seed(config.seed + 1)
    g_model = torch.Generator(device=device).manual_seed(config.seed + 2)  # latents, noise levels, noise
    generators = {"batch": g_batch, "model": g_model}
    pool, x_val, data = _images(config)
    pool, x_val = pool.to(device), x_val.to(device)
    meta = {
        "model": config.model,
        "network_config": json.loads(json.dumps(model.config)),
        "train_config": json.loads(json.dumps(asdict(config))),
        "preset": config.preset,
        "image_size": config.image_size,
        "command": command,
        "seed": config.seed,
        "data": data,
        "device": str(device),
    }
    step, epoch, history = 0, 0, []
    latest = latest_checkpoint(ckpt_dir)
    if resume:
        if latest is None:
            raise ValueError(f"resume: no checkpoint in {ckpt_dir}")
        before = read_sidecar(latest / "model.json")
        if not _same_run(before.get("train_config"), meta["train_config"]):
            raise ValueError(f"resume: {ckpt_dir} was written for another configuration; use another --out")
        saved = load_checkpoint(latest, model=holder, optimizer=opt, generators=generators)
        step, epoch, history = int(saved["step"]), int(saved["epoch"]), list(saved.get("history", []))
    elif latest is not None:
        raise ValueError(
            f"out {out} already holds checkpoints; pass resume=True (--resume) or choose another"
        )
    out.mkdir(parents=True, exist_ok=True)

    from tqdm.auto import tqdm

    total = config.epochs * config.steps_per_epoch
    bar = tqdm(
        total=total, initial=step, disable=not progress, unit="step", file=sys.stderr, dynamic_ncols=True
    )
    try:
        while epoch < config.epochs:
            start, losses = time.perf_counter(), []
            for _ in range(config.steps_per_epoch):
                idx = torch.randint(pool.shape[0], (config.batch_size,), generator=g_batch)
                x = pool[idx.to(device)]
                if config.model == "gan":
                    record = model.train_step(x, opt, g_model)
                    loss = float(record["d_loss"]) + float(record["g_loss"])
                else:
                    value = _loss(model, x, g_model)
                    opt.zero_grad(set_to_none=True)
                    value.backward()
                    opt.step()
                    if isinstance(holder, _EMA):
                        holder.update(config.ema)
                    loss = float(value.detach())
                step += 1
                losses.append(loss)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.4g}", epoch=epoch + 1, refresh=False)
            epoch += 1
            seconds = time.perf_counter() - start
            final = holder.average if isinstance(holder, _EMA) else model
            row = {
                "epoch": epoch,
                "step": step,
                "train_loss": sum(losses) / len(losses),
                **_validate(final, config.model, x_val, config.seed + 5),
                "lr": lr,
                "seconds": seconds,
                "samples_per_s": config.steps_per_epoch * config.batch_size / seconds,
            }
            history.append(row)
            _write_log(out / "log.csv", history)
            shown = ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k.startswith(("train_", "val_")))
            bar.write(f"epoch {epoch}: {shown}, {row['samples_per_s']:.0f} samples/s", file=sys.stderr)
            save_checkpoint(
                ckpt_dir,
                model=holder,
                optimizer=opt,
                generators=generators,
                step=step,
                epoch=epoch,
                meta={**meta, "history": history},
            )
    finally:
        bar.close()
    final = holder.average if isinstance(holder, _EMA) else model
    if hasattr(final, "calibrate_batchnorm"):  # the GAN: exact BatchNorm statistics for eval-mode decoding
        final.calibrate_batchnorm(torch.Generator(device=device).manual_seed(config.seed + 7))
    final.eval()
    metrics = {k: v for k, v in history[-1].items() if k.startswith("val_")}
    facts = {**meta, "metrics": metrics, "history": history, "step": step}
    save_weights(out / "model", final, facts, dtype=WEIGHTS_DTYPES[weights_dtype])
    _write_samples(final, out / "samples.png", config.seed + 6)
    return json.loads((out / "model.json").read_text())


@torch.no_grad()
def _write_samples(model: torch.nn.Module, path: Path, seed: int, num: int = 64) -> None:
    """A grid of ``num`` samples of the final model (DDPM: 50 DDIM steps with eta = 1, the estimate
    clamped)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..networks.diffusion import ddim_sample

    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    if hasattr(model, "decode"):
        z = torch.randn(num, model.latent_dim, generator=gen, device=device)
        x = model.decode(z)
    else:
        x = ddim_sample(model, num, gen, num_steps=50, eta=1.0, clip_x0=True)
    x = x.clamp(0, 1).cpu()
    side = int(num**0.5)
    rows = [torch.cat(list(x[r * side : (r + 1) * side, 0]), dim=1) for r in range(side)]
    grid = torch.cat(rows, dim=0)
    plt.imsave(path, grid.numpy(), cmap="gray", vmin=0, vmax=1)

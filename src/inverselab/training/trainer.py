"""Training of a network for a preset: measurements are simulated on the fly (or read, for noisy data).

Three kinds of model are trained:

- **denoisers** (``dncnn``, ``drunet``) on denoising presets: ``y = x + sigma n``; DRUNet sees a random
  ``sigma`` per image from ``sigma_range`` (one network for a range of noise levels);
- **post-processing networks** (``unet``) on any image preset: ``x_hat = x0 + net(x0)`` with ``x0`` the
  preset's direct baseline (FBP, zero-filled, adjoint) of ``y = noise(A(x))``
  (:class:`~inverselab.networks.PostProcess`);
- **unrolled networks** (``unrolled-pg``, ``modl``, ``lpd``, ``varnet``), ``x_hat = model(y, A)``, which apply
  the operator inside every iteration (:data:`UNROLLED`); ``varnet`` needs a multi-coil MRI preset.

Losses are supervised (``mse``, ``l1``, ``ssim``: the output against the clean image) or, for denoisers,
self-supervised (``sure``, ``noise2self``: from the noisy images alone, see
:data:`~inverselab.training.losses.SELF_SUPERVISED`), so a denoiser can be trained without clean data.

Training images come from :func:`inverselab.data.training_images`: generated phantoms and crops of the
training photos (never the bench test images), or crops of a folder of the user's images. With
``noisy_data=True`` the folder's images already carry the preset's noise: they are the network's inputs as
they are, and only the self-supervised losses apply. The operator is built for ``patch x patch`` images:
once per run from the run's seed, or, for presets with a random operator (masks: MRI, inpainting), afresh at
every step from the noise generator, so the network learns the preset and not one mask. Each epoch ends with
a validation on held-out generated images (the network's PSNR/SSIM next to its input's) and a checkpoint;
``resume=True`` continues from the last checkpoint and gives the same weights as an uninterrupted run.

The run uses one device (``device="auto"``: CUDA when available), optionally with mixed precision
(``amp=True``, CUDA only), and can log to TensorBoard (``tensorboard=True``, needs the ``tensorboard``
package). All random draws come from CPU generators owned by the run, so checkpoints are device-independent
and a run may resume on another device.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from .._checks import check_choice, check_number

__all__ = ["TrainConfig", "build_model", "resolve_device", "train"]

#: Small defaults for CPU training (the published sizes are the classes' defaults).
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "unet": {"chans": 16, "num_pool_layers": 3},
    "dncnn": {"depth": 10, "features": 32},
    "drunet": {},
    "unrolled-pg": {},
    "modl": {},
    "lpd": {},
    "varnet": {},
}
#: Denoisers, ``model(y, sigma)``: trained on denoising presets only.
DENOISERS = ("dncnn", "drunet")
#: Unrolled reconstruction networks, ``model(y, A)``, with the operator inside their iterations.
UNROLLED = ("unrolled-pg", "modl", "lpd", "varnet")


#: Storage dtypes of the final weights (``train(..., weights_dtype=...)``, ``--weights-dtype``).
WEIGHTS_DTYPES = {"float32": torch.float32, "float16": torch.float16}


@dataclass
class TrainConfig:
    """What to train and how (recorded in every checkpoint and in the weights' sidecar).

    Attributes:
        preset: Preset name; its operator and noise simulate the measurements.
        model: ``"unet"`` (post-processing), ``"dncnn"`` or ``"drunet"`` (denoisers, denoising presets only),
            or an unrolled network (:data:`UNROLLED`).
        model_config: Network keyword arguments overriding :data:`MODEL_DEFAULTS`.
        loss: Supervised ``"mse"``, ``"l1"`` or ``"ssim"``; or self-supervised ``"sure"`` (Monte-Carlo SURE)
            or ``"noise2self"`` (masked-pixel prediction), which never see a clean image (denoisers only:
            ``dncnn``/``drunet``).
        epochs: Number of epochs.
        steps_per_epoch: Optimizer steps per epoch.
        batch_size: Images per step.
        lr: Peak AdamW learning rate (cosine decay to 0 over the run).
        weight_decay: AdamW weight decay.
        grad_clip: Clip the gradient norm to this value (``None``: no clipping).
        patch: Side length of the training images.
        data: Training source (see :data:`inverselab.data.TRAINING_SOURCES`), or the path of a folder of
            images (random ``patch``-pixel grayscale crops, never rescaled); ``None``: ``"natural"`` for
            presets tuned on photos, ``"phantoms"`` for the others.
        noisy_data: The folder's images already carry the preset's noise (no clean images exist): no noise is
            added, the images are the network's inputs, and ``loss`` must be self-supervised. DRUNet then
            sees the preset's noise level. Validation, which needs the truth to compute PSNR, still runs on
            held-out generated images with simulated noise (see :attr:`validation_source`).
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
    noisy_data: bool = False
    num_train: int = 256
    num_val: int = 16
    sigma_range: tuple[float, float] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.data, os.PathLike):  # a folder given as a Path: stored as text (JSON sidecars)
            self.data = os.fspath(self.data)

    def check(self) -> TrainConfig:
        """Validate every field (errors name the field); returns ``self``."""
        from ..data import TRAINING_SOURCES, is_folder_source
        from ..presets import get_preset
        from .losses import LOSS_NAMES

        p = get_preset(self.preset)
        check_choice("model", self.model, tuple(MODEL_DEFAULTS))
        check_choice("loss", self.loss, LOSS_NAMES)
        if self.self_supervised and self.model not in DENOISERS:
            raise ValueError(
                f"loss {self.loss!r} is a self-supervised denoising loss: it trains a denoiser (model dncnn "
                f"or drunet on a denoising preset), not the reconstruction model {self.model!r}"
            )
        if p.kind != "image":
            raise ValueError(f"preset must be an image preset to train a network, got {self.preset!r}")
        if self.model in DENOISERS and not self.preset.startswith("denoise"):
            raise ValueError(f"model {self.model!r} is a denoiser: preset must be a denoising preset")
        if self.model == "varnet":
            from ..operators import MultiCoilMRI

            A, _ = p.build((1, 16, 16), None)
            if not isinstance(A, MultiCoilMRI):
                raise ValueError(
                    f"model 'varnet' reconstructs multi-coil MRI: preset must be a multi-coil MRI preset "
                    f"(e.g. mri-8x-multicoil), got {self.preset!r}"
                )
        for name in ("epochs", "steps_per_epoch", "batch_size", "num_train", "num_val"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("patch", self.patch, low=16, high=1024, integer=True)
        check_number("lr", self.lr, low=0, low_inclusive=False)
        check_number("weight_decay", self.weight_decay, low=0)
        check_number("seed", self.seed, low=0, integer=True)
        if self.grad_clip is not None:
            check_number("grad_clip", self.grad_clip, low=0, low_inclusive=False)
        if self.data is not None and self.data not in TRAINING_SOURCES and not is_folder_source(self.data):
            names = ", ".join(map(repr, TRAINING_SOURCES))
            raise ValueError(
                f"data must be one of {names} or an existing folder of images; got {self.data!r}"
            )
        if not isinstance(self.noisy_data, bool):
            raise ValueError(f"noisy_data must be True or False, got {self.noisy_data!r}")
        if self.noisy_data:
            if not self.self_supervised:
                raise ValueError(
                    "noisy_data=True: the images carry noise and there is no clean target, so loss must be "
                    f"'sure' or 'noise2self'; got loss {self.loss!r}"
                )
            if self.data is None or not is_folder_source(self.data):
                raise ValueError(
                    f"noisy_data=True needs data to be a folder of noisy images; got {self.data!r}"
                )
            if self.sigma_range is not None:
                raise ValueError(
                    "sigma_range must be None with noisy_data=True (the images' noise level is the preset's)"
                )
        return self

    @property
    def self_supervised(self) -> bool:
        """Whether :attr:`loss` is a self-supervised loss (the network never sees a clean image)."""
        from .losses import SELF_SUPERVISED

        return self.loss in SELF_SUPERVISED

    @property
    def network_config(self) -> dict[str, Any]:
        return {**MODEL_DEFAULTS[self.model], **self.model_config}

    @property
    def data_source(self) -> str:
        """The training source: :attr:`data`, or the preset's default generated source."""
        return self.data or self._generated_source()

    @property
    def validation_source(self) -> str:
        """The held-out validation source: the training source when it is generated; for a folder (which holds
        no held-out images, and no clean ones when noisy), the preset's default generated source."""
        from ..data import is_folder_source

        source = self.data_source
        return self._generated_source() if is_folder_source(source) else source

    def _generated_source(self) -> str:
        from ..presets import get_preset

        return "natural" if get_preset(self.preset).sample == "camera" else "phantoms"


def build_model(config: TrainConfig) -> torch.nn.Module:
    """The network of ``config``: a denoiser, a :class:`~inverselab.networks.PostProcess` U-Net starting
    from the preset's direct baseline (its last layer zero, so the untrained model is the baseline), or an
    unrolled network (starting from the preset's baseline when it takes an ``initial`` method)."""
    import inspect

    from ..networks import NETWORKS, PostProcess
    from ..presets import get_preset

    if config.model in UNROLLED:
        cls, kwargs = NETWORKS[config.model], dict(config.network_config)
        param = inspect.signature(cls).parameters.get("initial")
        # networks that always start from a direct method start from the preset's; LPD starts from 0 unless
        # asked (--net initial=fbp)
        if param is not None and param.default is not None and "initial" not in kwargs:
            kwargs["initial"] = get_preset(config.preset).baseline
        return cls(**kwargs)
    if config.model == "unet":
        p = get_preset(config.preset)
        net = NETWORKS["unet"](1, 1, **config.network_config)
        # Zero last layer: training starts exactly at the direct method and can only learn to improve on it.
        torch.nn.init.zeros_(net.final.weight)
        torch.nn.init.zeros_(net.final.bias)
        return PostProcess(net, p.baseline)
    return NETWORKS[config.model](1, **config.network_config)


class _Simulator:
    """Clean images -> (measurement, model input) for ``config`` (the operator built once, on ``device``).

    Random draws use CPU generators and move to the images' device, so a run draws the same numbers on any
    device.
    """

    def __init__(self, config: TrainConfig, device: torch.device):
        from ..noise import make_generator
        from ..presets import get_preset

        self.config = config
        self.preset = get_preset(config.preset)
        A, self.noise = self.preset.build((1, config.patch, config.patch), make_generator(config.seed))
        self.A = A.to(device)  # operators are modules: their buffers (masks, kernels, ...) move with them
        self.current = self.A  # the operator of the last measurement
        self.denoiser = config.model in DENOISERS
        self.noisy_data = config.noisy_data
        sigma = float(getattr(self.noise, "sigma", 0.0))
        self.sigma = sigma
        if config.noisy_data:  # the images' own noise: the preset's level
            lo, hi = sigma, sigma
        else:
            lo, hi = config.sigma_range or ((0.0, 2 * sigma) if config.model == "drunet" else (sigma, sigma))
        self.sigma_range = (float(lo), float(hi))

    def measure(self, x: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(y, sigma)``: measurements of ``x`` and, for denoisers, the per-image noise level. With noisy
        data, ``x`` already is the measurement: returned as it is, with the preset's noise level."""
        if self.noisy_data:
            return x, torch.full((x.shape[0],), self.sigma, device=x.device)
        if self.denoiser:
            lo, hi = self.sigma_range
            sigma = (lo + (hi - lo) * torch.rand(x.shape[0], generator=gen)).to(x.device)
            n = torch.randn(x.shape, generator=gen).to(x.device)
            return x + sigma.reshape(-1, 1, 1, 1) * n, sigma
        if self.preset.random_operator:  # a fresh mask every step, so the network works for any instance
            shape = (1, self.config.patch, self.config.patch)
            self.current = self.preset.build(shape, gen)[0].to(x.device)
        with torch.no_grad():
            return self.noise(self.current(x), gen), None

    def run(self, model: torch.nn.Module, y: torch.Tensor, sigma: torch.Tensor | None) -> torch.Tensor:
        """The model on ``y``: a denoiser, or a reconstruction network with the operator of the last
        :meth:`measure`."""
        return model(y, sigma) if self.denoiser else model(y, self.current)

    def baseline(self, model: torch.nn.Module, y: torch.Tensor) -> torch.Tensor:
        """What the network starts from: the noisy image, or the direct reconstruction."""
        return y if self.denoiser else model.initial_reconstruction(y, self.current)


def _validate(model, sim: _Simulator, x_val: torch.Tensor, seed: int) -> dict[str, float]:
    from ..metrics import psnr, ssim
    from ..noise import make_generator

    model.eval()
    gen = make_generator(seed)  # the same noise at every validation
    with torch.no_grad():
        if sim.denoiser:  # validate at the preset's own noise level
            y = x_val + sim.sigma * torch.randn(x_val.shape, generator=gen).to(x_val.device)
            sigma = torch.full((x_val.shape[0],), sim.sigma, device=x_val.device)
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
    device: str | torch.device = "auto",
    amp: bool = False,
    tensorboard: bool = False,
    weights_dtype: str = "float32",
) -> dict[str, Any]:
    """Train ``config.model`` for ``config.preset``; write checkpoints, ``log.csv`` and the final weights.

    Everything runs on ``device``: the model, the training and validation images, the operator (a module,
    moved with ``.to``). Random draws (batches, noise, the self-supervised losses' probes and masks) come from
    CPU generators owned by the run and saved in its checkpoints, and the checkpoints hold CPU tensors, so a
    run may resume on another device (``device`` and ``amp`` are recorded in the sidecars but are not part of
    the configuration a resumed run must match). Under DDP (``torch.distributed`` initialized) every process
    loads the same checkpoint files on resume, so all take rank 0's generator states.

    Args:
        config: What to train.
        out: Run directory: ``checkpoints/``, ``log.csv``, ``model.safetensors`` + ``model.json`` (and
            ``tensorboard/``).
        resume: Continue from the last checkpoint in ``out`` (an error if there is none).
        progress: Show a progress bar (loss, samples/s, time left).
        command: The command line, recorded in the sidecars.
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a
            ``torch.device``; ``"cuda"`` means the current CUDA device (under torchrun, the local rank's).
        amp: Mixed precision (``torch.autocast`` to float16 with a ``GradScaler``, saved in the
            checkpoints); CUDA only. The losses are computed in float32; the SURE loss runs its network passes
            in float32 (its finite difference would be rounding noise in half precision), so ``amp`` does not
            speed it up.
        tensorboard: Also write scalars to ``out/tensorboard`` (``torch.utils.tensorboard``): the training
            loss per step (``train/loss``), and per epoch (``epoch/...``) its mean, ``val_psnr``,
            ``val_ssim``, ``input_psnr``, ``lr`` and ``samples_per_s``. Needs the ``tensorboard`` package.
            Only rank 0 writes.
        weights_dtype: Storage dtype of the final ``model.safetensors``: ``"float32"``, or ``"float16"`` (half
            the size, for shipping; loaded back as float32). Checkpoints always keep float32, so a resumed run
            is exact.

    Returns:
        The final weights' sidecar (config, data, metrics, sha256, ...).

    Raises:
        ValueError: A bad ``config`` field (named), ``device``, or ``amp=True`` without CUDA; ``resume``
            without a checkpoint, or with one written for another configuration; checkpoints in ``out``
            without ``resume``.
        ImportError: ``tensorboard=True`` without the ``tensorboard`` package.
    """
    from ..data import describe_source, is_folder_source, training_images
    from ..networks import PostProcess
    from .checkpoints import latest_checkpoint, load_checkpoint, read_sidecar, save_checkpoint, save_weights
    from .losses import SELF_SUPERVISED, get_loss

    config.check()
    check_choice("weights_dtype", weights_dtype, tuple(WEIGHTS_DTYPES))
    device = resolve_device(device)
    if not isinstance(amp, bool):
        raise ValueError(f"amp must be True or False, got {amp!r}")
    if amp and device.type != "cuda":
        raise ValueError(f"amp=True: mixed precision needs CUDA, but the device is {device}")
    summary_writer = _summary_writer() if tensorboard else None
    rank, world = _distributed()
    if config.batch_size % world:
        raise ValueError(f"batch_size must be a multiple of the {world} processes, got {config.batch_size}")
    out = Path(out)
    ckpt_dir = out / "checkpoints"
    torch.manual_seed(config.seed)  # initialization (on the CPU: the same weights on any device)
    model = build_model(config).to(device)
    model.train()
    total = config.epochs * config.steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    scaler = _grad_scaler(device) if amp else None
    g_batch = torch.Generator().manual_seed(config.seed + 1)
    g_noise = torch.Generator().manual_seed(config.seed + 2)
    generators = {"batch": g_batch, "noise": g_noise}
    self_supervised = SELF_SUPERVISED.get(config.loss)
    if self_supervised is not None:  # its probes/masks (a separate stream: supervised runs resume as before)
        generators["loss"] = g_loss = torch.Generator().manual_seed(config.seed + 6)
    else:
        loss_fn = get_loss(config.loss)
    source, val_source = config.data_source, config.validation_source
    pool = training_images(source, config.num_train, config.patch, config.seed + 3).to(device)
    x_val = training_images(val_source, config.num_val, config.patch, config.seed + 4).to(device)
    sim = _Simulator(config, device)
    data = describe_source(source, config.num_train, config.patch, config.seed + 3)
    if config.noisy_data:
        data += " (noisy: the network's inputs as they are, no noise added)"
    meta = {
        "model": config.model,
        "network_config": json.loads(json.dumps(_bare(model).config)),  # complete: cls(**config) rebuilds it
        # the direct method a post-processing network starts from (unrolled ones have it in their config)
        "initial": model.initial if isinstance(model, PostProcess) else None,
        "train_config": json.loads(json.dumps({**asdict(config), "sigma_range": sim.sigma_range})),
        "preset": config.preset,
        "command": command,
        "seed": config.seed,
        "data": data,
        "validation_data": describe_source(val_source, config.num_val, config.patch, config.seed + 4)
        + (" (generated: the folder has no held-out images)" if is_folder_source(source) else ""),
        "device": str(device),
        "amp": amp,
    }
    step, epoch, history = 0, 0, []
    latest = latest_checkpoint(ckpt_dir)
    if resume:
        if latest is None:
            raise ValueError(f"resume: no checkpoint in {ckpt_dir}")
        before = read_sidecar(latest / "model.json")
        if not _same_config(before.get("train_config"), meta["train_config"]):
            raise ValueError(f"resume: {ckpt_dir} was written for another configuration; use another --out")
        restore_scaler = scaler if before.get("amp") else None  # a run that had no scaler: start a new one
        saved = load_checkpoint(
            latest, model=model, optimizer=opt, scheduler=sched, scaler=restore_scaler, generators=generators
        )
        step, epoch, history = int(saved["step"]), int(saved["epoch"]), list(saved.get("history", []))
    elif latest is not None:
        raise ValueError(
            f"out {out} already holds checkpoints; pass resume=True (--resume) or choose another"
        )
    out.mkdir(parents=True, exist_ok=True)
    net = model
    if world > 1:  # each process takes its share of every global batch; DDP averages the gradients
        ids = [device.index] if device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    share = slice(rank * config.batch_size // world, (rank + 1) * config.batch_size // world)
    writer = None
    if summary_writer is not None and rank == 0:  # on resume, hide the steps logged after the checkpoint
        writer = summary_writer(log_dir=str(out / "tensorboard"), purge_step=step + 1 if resume else None)

    def autocast():
        return torch.autocast(device.type, dtype=torch.float16) if amp else contextlib.nullcontext()

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
                batch = pool[idx.to(device)]  # clean images, or noisy ones with noisy_data
                y, sigma = sim.measure(batch, g_noise)
                sigma = None if sigma is None else sigma[share]
                if self_supervised is not None:
                    # Self-supervised: the network and the noisy y only; `batch` is not used from here on.
                    random = self_supervised.draw(tuple(y.shape), g_loss)[share]  # the global batch's draw
                    with autocast():
                        loss = self_supervised.value(net, y[share], sigma, random)
                else:
                    with autocast():
                        x_hat = sim.run(net, y[share], sigma)
                    loss = loss_fn(x_hat.float(), batch[share])
                opt.zero_grad(set_to_none=True)
                (loss if scaler is None else scaler.scale(loss)).backward()
                if config.grad_clip is not None:
                    if scaler is not None:
                        scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                if scaler is None:
                    opt.step()
                else:
                    scaler.step(opt)
                    scaler.update()
                sched.step()
                step += 1
                losses.append(_mean_over_processes(loss.detach().float(), world))
                if writer is not None:
                    writer.add_scalar("train/loss", losses[-1], step)
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
                if writer is not None:
                    for key, tag in _TENSORBOARD_TAGS.items():
                        writer.add_scalar(tag, row[key], step)
                    writer.flush()
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
                    scaler=scaler,
                    generators=generators,
                    step=step,
                    epoch=epoch,
                    meta={**meta, "history": history},
                )
            _barrier(world)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    final = {k: history[-1][k] for k in ("val_psnr", "val_ssim", "input_psnr")}
    if rank == 0:
        facts = {**meta, "metrics": final, "history": history, "step": step}
        save_weights(out / "model", _bare(model), facts, dtype=WEIGHTS_DTYPES[weights_dtype])
    _barrier(world)
    return json.loads((out / "model.json").read_text())


#: Per-epoch TensorBoard scalars: ``log.csv`` column -> tag.
_TENSORBOARD_TAGS = {
    "train_loss": "epoch/train_loss",
    "val_psnr": "epoch/val_psnr",
    "val_ssim": "epoch/val_ssim",
    "input_psnr": "epoch/input_psnr",
    "lr": "epoch/lr",
    "samples_per_s": "epoch/samples_per_s",
}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The ``torch.device`` a run uses: ``"auto"`` is CUDA when available, else the CPU; a CUDA device without
    an index is the current one (under torchrun, the local rank's, set by
    :func:`~inverselab.training.distributed.init_from_env`).

    Args:
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``.

    Returns:
        The device.

    Raises:
        ValueError: Not a device, or a CUDA device on a machine without CUDA (the message names ``device``).
    """
    if isinstance(device, str) and device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device; got {device!r}"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r}: CUDA is not available on this machine")
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    elif device.type != "cpu":
        raise ValueError(f"device must be a CPU or CUDA device, got {str(device)!r}")
    return device


def _grad_scaler(device: torch.device):
    """A ``GradScaler`` for ``device`` (``torch.amp`` since torch 2.3, ``torch.cuda.amp`` before)."""
    if hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(device.type)
    return torch.cuda.amp.GradScaler()  # pragma: no cover - torch < 2.3


def _summary_writer():
    """TensorBoard's ``SummaryWriter`` class, or an ImportError saying how to install it."""
    try:
        import tensorboard  # noqa: F401  (torch.utils.tensorboard needs it)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ImportError("tensorboard=True needs `pip install tensorboard`") from None
    return SummaryWriter


def _same_config(saved: object, now: dict[str, Any]) -> bool:
    """Whether a checkpoint's ``train_config`` is ``now``'s; fields added to :class:`TrainConfig` after the
    checkpoint was written count as equal when ``now`` has their default."""
    if not isinstance(saved, dict):
        return False
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    added = {k for k in now if k not in saved}
    return (
        all(now[k] == defaults.get(k, object()) for k in added)
        and {k: v for k, v in now.items() if k not in added} == saved
    )


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
    from ..networks import PostProcess

    return model.net if isinstance(model, PostProcess) else model


def _write_log(path: Path, history: list[dict[str, float]]) -> None:
    from .._files import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)

"""Data-parallel training (DDP) across processes, launched by ``torchrun`` or by :func:`run_distributed`.

Every process draws the same global batch and noise (same seeds) and trains on its share of it; DDP averages
the gradients, so ``N`` processes with batch ``B`` follow the same trajectory as one process with batch ``B``
(up to floating-point summation order; tested with 2 CPU processes and the gloo backend). Rank 0 writes the
logs, checkpoints and weights.

With torchrun (one machine, 2 processes; add ``--nnodes``/``--rdzv-endpoint`` for several machines)::

    torchrun --nproc-per-node 2 -m inverselab train denoise-sigma25 --model drunet --batch-size 16

``inverselab train`` initializes the process group itself when ``WORLD_SIZE`` > 1 (gloo on CPU, NCCL on CUDA).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["init_from_env", "run_distributed"]


def init_from_env() -> bool:
    """Join the process group described by torchrun's environment (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``); returns whether one was joined (``False`` for a single process)."""
    import torch
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)
    return True


def _worker(rank: int, world: int, init_file: str, config: dict[str, Any], out: str, threads: int) -> None:
    import torch
    import torch.distributed as dist

    from .trainer import TrainConfig, train

    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        train(TrainConfig(**config), out)
    finally:
        dist.destroy_process_group()


def run_distributed(config, out: str | Path, nprocs: int = 2, threads: int = 1) -> dict[str, Any]:
    """Train ``config`` with ``nprocs`` CPU processes (gloo) on this machine; returns the weights' sidecar.

    Args:
        config: A :class:`~inverselab.training.trainer.TrainConfig`; its ``batch_size`` is the global batch.
        out: Run directory (as for :func:`~inverselab.training.trainer.train`).
        nprocs: Number of processes.
        threads: Torch threads per process.
    """
    import json
    from dataclasses import asdict

    import torch.multiprocessing as mp

    config.check()
    with tempfile.TemporaryDirectory() as tmp:
        init_file = str(Path(tmp) / "rendezvous")
        args = (nprocs, init_file, asdict(config), str(out), threads)
        mp.spawn(_worker, args=args, nprocs=nprocs, join=True)
    return json.loads((Path(out) / "model.json").read_text())

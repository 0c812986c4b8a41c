"""Training: checkpoints and weights files (safetensors + JSON, never pickle).

- :mod:`~inverselab.training.checkpoints`: :func:`save_weights` / :func:`load_weights` (a ``.safetensors``
  file plus a JSON sidecar with the training facts and the sha256), and full training checkpoints
  (:func:`save_checkpoint`, :func:`load_checkpoint`, :func:`latest_checkpoint`) written atomically, so a run
  killed at any moment resumes to the same result.
- :mod:`~inverselab.training.losses`: MSE, L1 and 1 - SSIM.
- :mod:`~inverselab.training.trainer`: :class:`~inverselab.training.trainer.TrainConfig` and
  :func:`~inverselab.training.trainer.train` (``inverselab train``).

Importing this package does not import torch (import the trainer and losses modules by name).
"""

from __future__ import annotations

from .checkpoints import (
    FORMAT_VERSION,
    latest_checkpoint,
    load_checkpoint,
    load_weights,
    read_sidecar,
    save_checkpoint,
    save_weights,
)

__all__ = [
    "FORMAT_VERSION",
    "save_weights",
    "load_weights",
    "read_sidecar",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
]

"""Training: checkpoints and weights files (safetensors + JSON, never pickle).

- :mod:`~inverselab.training.checkpoints`: :func:`save_weights` / :func:`load_weights` (a ``.safetensors``
  file plus a JSON sidecar with the training facts and the sha256), and full training checkpoints
  (:func:`save_checkpoint`, :func:`load_checkpoint`, :func:`latest_checkpoint`) written atomically, so a run
  killed at any moment resumes to the same result.
- :mod:`~inverselab.training.losses`: MSE, L1 and 1 - SSIM.
- :mod:`~inverselab.training.trainer`: :class:`~inverselab.training.trainer.TrainConfig` and
  :func:`~inverselab.training.trainer.train` (``inverselab train``).
- :mod:`~inverselab.training.adaptation`: test-time training,
  :func:`~inverselab.training.adaptation.adapt_to_measurement` (fine-tune a trained ``model(y, A)`` on one
  measurement's data consistency; Darestani, Liu & Heckel, ICML 2022).

Importing this package does not import torch (import the trainer, losses and adaptation modules by name).
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

"""Limits of reconstruction methods: worst-case measurement perturbations and small-feature recovery.

- :mod:`~inverselab.robustness.adversarial`: :func:`attack`, a bounded perturbation ``e`` of the measurements
  (``‖e‖₂ <= eps ‖y‖₂``) found by projected gradient ascent on the reconstruction error, for any method that
  is differentiable in ``y`` (:func:`differentiable_method` makes one of a registered name: trained networks
  with gradients, classical solvers differentiated through their iterations); :func:`random_perturbation`
  of the same norm, for comparison; :func:`linear_gain` (the largest singular value of a linear method, the
  analytic worst case).
- :mod:`~inverselab.robustness.features`: small synthetic features (discs, short lines) inserted at known
  positions (:func:`place_features`, :func:`insert_features`) and scored in a reconstruction
  (:func:`feature_scores`: local error in a window around each feature, contrast recovered).

``inverselab bench --study adversarial`` and ``--study small-features`` run them over presets and methods.
"""

from __future__ import annotations

from .adversarial import (
    AttackResult,
    attack,
    differentiable_method,
    linear_gain,
    measurement_support,
    random_perturbation,
)
from .features import Feature, feature_masks, feature_scores, insert_features, place_features

__all__ = [
    "AttackResult",
    "attack",
    "differentiable_method",
    "linear_gain",
    "measurement_support",
    "random_perturbation",
    "Feature",
    "feature_masks",
    "feature_scores",
    "insert_features",
    "place_features",
]

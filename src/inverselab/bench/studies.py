"""Studies: experiments that read like the figures of a paper, run by ``inverselab bench --study NAME``.

Each study is a function ``run(out, *, suite="quick", presets=None, methods=None, seed=0, jobs=1,
progress=False) -> StudyResult`` that writes ``out/<name>.json`` (the numbers behind the figure) and its
figure(s) as PNG into ``out``; :func:`inverselab.bench.report.write_study_report` then writes ``report.md``
and a self-contained ``index.html`` around them. The table below maps names to ``"module:function"``
targets, so listing studies imports nothing heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["StudyResult", "STUDIES", "get_study", "list_studies"]


@dataclass
class StudyResult:
    """What a study produced.

    Attributes:
        name: The study's name, e.g. ``"phase-transition"``.
        title: A figure-style title.
        caption: What was run, in sentences: grids, sizes, trials, seeds, success criteria, what curves show.
        figures: PNG files the study wrote (inside ``out``), in reading order.
        data: The JSON-serializable numbers behind the figures (also written to ``out/<name>.json``).
        tables: Optional Markdown tables (strings) to show under the figures.
    """

    name: str
    title: str
    caption: str
    figures: list[Path]
    data: dict[str, Any]
    tables: list[str] = field(default_factory=list)


_B = "inverselab.bench"
#: name -> (target, one-line description)
STUDIES: dict[str, tuple[str, str]] = {
    "phase-transition": (
        f"{_B}.phase_transition:run",
        "Empirical success probability of L1 recovery and AMP over (delta = m/n, rho = k/m), "
        "with the Donoho-Tanner / state-evolution curve",
    ),
    "noise-shift": (
        f"{_B}.shift:run_noise_shift",
        "Each method at noise levels other than the one it was tuned for: PSNR vs noise level",
    ),
    "sampling-shift": (
        f"{_B}.shift:run_sampling_shift",
        "MRI/CT methods at other accelerations / numbers of angles than their preset's",
    ),
    "sbm-transition": (
        f"{_B}.sbm_transition:run",
        "Community detection in the sparse SBM (q = 2, c = 3): overlap vs c_in - c_out for BP, the Bethe "
        "Hessian, a trained GNN and the adjacency/Laplacian spectra, Kesten-Stigum threshold marked",
    ),
    "distribution-shift": (
        f"{_B}.distribution:run_distribution_shift",
        "Networks trained on ellipse phantoms vs on photos, tested on natural images: the gap, beside "
        "untrained networks and TV",
    ),
    "test-time-training": (
        f"{_B}.ttt:run_test_time_training",
        "Fine-tuning the phantom-trained networks on each test measurement's data consistency: the share "
        "of the distribution-shift gap it closes",
    ),
    "adversarial": (
        f"{_B}.adversarial:run_adversarial",
        "Worst-case (PGD) vs random measurement perturbations of size eps ||y||: PSNR vs eps for classical "
        "and learned methods",
    ),
    "small-features": (
        f"{_B}.small_features:run_small_features",
        "Small discs and lines inserted at known positions: local error and contrast recovered by each "
        "method",
    ),
}


def list_studies() -> list[str]:
    """Names of the studies, sorted."""
    return sorted(STUDIES)


def get_study(name: str) -> Callable[..., StudyResult]:
    """The ``run`` function of study ``name``; a ``ValueError`` listing the valid names otherwise."""
    if name not in STUDIES:
        raise ValueError(f"study must be one of {', '.join(list_studies())}; got {name!r}")
    module, function = STUDIES[name][0].split(":")
    return getattr(importlib.import_module(module), function)

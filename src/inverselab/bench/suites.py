"""Benchmark suites: declarative lists of (preset, methods, test images, seeds).

A suite says *what* to run; :mod:`inverselab.bench.runner` runs it and :mod:`inverselab.bench.report` writes
the tables and pictures. ``quick`` runs each preset's classical and learned methods, ``full`` all of them
(untrained networks too: minutes per image each), ``untrained`` the presets with untrained networks beside
their default and learned methods, ``tiny`` a few fast methods at 32 px.

Test images come from :data:`inverselab.data.TEST_SAMPLES` (scikit-image's ``camera``, ``astronaut``,
``coins``, ``moon`` and the Shepp-Logan phantom), which learned methods never train on: training uses
:data:`inverselab.data.TRAIN_SAMPLES` and generated phantoms (random ellipses, dead leaves). The digit
presets reconstruct held-out digits (the test split of :func:`inverselab.data.digits`, the seed picks one).

Example:
    >>> s = get_suite("quick")
    >>> [e.preset for e in s.entries][:2]
    ['denoise-sigma25', 'deblur-gauss']
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SuiteEntry", "Suite", "SUITES", "get_suite", "list_suites", "NATURAL_TEST", "PHANTOM_TEST"]

#: Test images for presets tuned on natural images (grayscale), in order of use.
NATURAL_TEST = ("camera", "astronaut", "coins", "moon")
#: Test images for presets tuned on phantoms (MRI, CT, compressed sensing of images).
PHANTOM_TEST = ("shepp_logan", "coins", "camera", "moon")


@dataclass(frozen=True)
class SuiteEntry:
    """One preset of a suite.

    Attributes:
        preset: Preset name.
        methods: Methods to run, in table order; ``None`` means the preset's own ``methods``.
        images: Test signals (sample names); vector presets use ``("bernoulli-gaussian",)`` and vary the seed.
        seeds: Seeds of the operator's random parts, the signal (when generated) and the noise.
    """

    preset: str
    methods: tuple[str, ...] | None
    images: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Suite:
    """A named benchmark.

    Attributes:
        name: ``quick``, ``full``, ...
        description: One line for ``inverselab bench --help`` and the report header.
        entries: What to run.
        time_budget: Seconds a single reconstruction may take before it is stopped and recorded as failed.
        size: Image side length for every image preset (``None``: each preset's own size).
    """

    name: str
    description: str
    entries: tuple[SuiteEntry, ...]
    time_budget: float = 60.0
    size: int | None = None


def _entries(
    num_natural: int,
    num_phantom: int,
    vector_seeds: tuple[int, ...],
    seeds=(0,),
    digit_seeds=(0,),
    methods=None,
):
    """One entry per preset (``methods(preset)`` -> the entry's methods, or ``None`` for all of them;
    presets for which it gives ``()`` are left out)."""
    from ..presets import PRESETS

    out = []
    for p in PRESETS.values():
        chosen = None if methods is None else tuple(methods(p))
        if chosen == () or p.kind == "graph":  # graphs: the sbm-transition study, not the image suites
            continue
        if p.kind in ("vector", "signal"):  # generated signals: the seed varies them
            out.append(SuiteEntry(p.name, chosen, (p.sample,), vector_seeds))
        elif p.sample == "digits":  # the seed picks the held-out digit (and the operator's random parts)
            out.append(SuiteEntry(p.name, chosen, (p.sample,), digit_seeds))
        elif p.sample == "camera":
            out.append(SuiteEntry(p.name, chosen, NATURAL_TEST[:num_natural], seeds))
        else:
            out.append(SuiteEntry(p.name, chosen, PHANTOM_TEST[:num_phantom], seeds))
    return tuple(out)


def _without_untrained(p) -> tuple[str, ...]:
    """A preset's classical and learned methods (untrained networks take minutes per image on a CPU)."""
    return p.methods + p.learned


def _untrained_comparison(p) -> tuple[str, ...]:
    """For a preset with untrained methods: its default method, its learned and its untrained methods."""
    return (p.default_method, *p.learned, *p.untrained) if p.untrained else ()


def _tiny() -> Suite:
    fast = {
        "denoise-sigma25": ("tv-admm", "fista-wavelet", "adjoint"),
        "cs-sparse-250x500": ("amp", "adjoint"),
        "mri-4x": ("tv-admm", "zero-filled"),
    }
    entries = tuple(
        SuiteEntry(
            name, methods, ("bernoulli-gaussian",) if name.startswith("cs-sparse") else ("camera", "coins")
        )
        for name, methods in fast.items()
    )
    return Suite("tiny", "Three presets at 32 px, fast methods (a smoke test, seconds)", entries, 30.0, 32)


def _suites() -> dict[str, Suite]:
    return {
        "quick": Suite(
            "quick",
            "Every preset with its classical and learned methods (no untrained networks), 2 test images "
            "(3 vectors, 2 digits), preset's size",
            _entries(2, 2, (0, 1, 2), digit_seeds=(0, 1), methods=_without_untrained),
            time_budget=60.0,
        ),
        "full": Suite(
            "full",
            "Every preset with every method, 4 test images x 2 seeds (10 vectors, 8 digits), preset's size",
            _entries(4, 4, tuple(range(10)), seeds=(0, 1), digit_seeds=tuple(range(8))),
            time_budget=600.0,
        ),
        "untrained": Suite(
            "untrained",
            "Presets with untrained networks (Deep Decoder, Deep Image Prior, ConvDecoder): each with its "
            "default, learned and untrained methods, 2 test images, preset's size (minutes per run)",
            _entries(2, 2, (0,), methods=_untrained_comparison),
            time_budget=600.0,
        ),
        "tiny": _tiny(),
    }


#: The suites by name.
SUITES: dict[str, Suite] = _suites()


def list_suites() -> list[str]:
    """Names of the suites."""
    return list(SUITES)


def get_suite(name: str) -> Suite:
    """The suite called ``name``; a ``ValueError`` listing the valid names otherwise."""
    if name not in SUITES:
        raise ValueError(f"suite must be one of {', '.join(SUITES)}; got {name!r}")
    return SUITES[name]

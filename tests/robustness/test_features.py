"""Small features: footprints, insertion, placement, and the scores on constructed examples."""

from __future__ import annotations

import math

import pytest
import torch

from inverselab.robustness import Feature, feature_masks, feature_scores, insert_features, place_features


def test_footprints_have_the_expected_pixels():
    shape = (21, 21)
    assert int(Feature("disc", 10, 10, 1.0, 0.2).footprint(shape).sum()) == 5
    assert int(Feature("disc", 10, 10, 1.5, 0.2).footprint(shape).sum()) == 9
    assert int(Feature("disc", 10, 10, 0.3, 0.2).footprint(shape).sum()) == 1
    line = Feature("line", 10, 10, 5.0, 0.2).footprint(shape)  # horizontal, 5 px
    assert int(line.sum()) == 5 and bool(line[10, 8:13].all())
    vertical = Feature("line", 10, 10, 5.0, 0.2, angle=math.pi / 2).footprint(shape)
    assert bool(vertical[8:13, 10].all()) and int(vertical.sum()) == 5


def test_scores_on_a_constructed_example():
    f = Feature("disc", 16, 16, 2.0, 0.2)  # 13 pixels
    background = torch.full((1, 1, 32, 32), 0.3)
    x = insert_features(background, [f])
    delta = x - background
    assert float(delta.sum()) == pytest.approx(13 * 0.2)
    masks = feature_masks(f, (32, 32), margin=3)
    n_window = int(masks["window"].sum())

    # half the feature's contrast: error 0.5 ‖δ‖, contrast recovery and recovered fraction 0.5
    half = background + 0.5 * delta
    (s,) = feature_scores(half, x, [f], baseline=background, margin=3)
    assert s["local_error"] == pytest.approx(0.5)
    assert s["contrast_recovery"] == pytest.approx(0.5)
    assert s["recovered_fraction"] == pytest.approx(0.5)
    assert s["contrast_true"] == pytest.approx(0.2)
    assert s["detected"]  # the error on the ring is zero: infinite CNR

    # a constant offset 0.1 over the window: full contrast, error 0.1 sqrt(|window|) / ‖δ‖
    offset = x + 0.1 * masks["window"].double()
    (s,) = feature_scores(offset, x, [f], margin=3)
    assert s["contrast_recovery"] == pytest.approx(1.0)
    assert s["local_error"] == pytest.approx(0.1 * math.sqrt(n_window) / (0.2 * math.sqrt(13)))
    mse = 0.01
    assert s["local_psnr"] == pytest.approx(10 * math.log10(1 / mse))

    # the feature gone: recovery 0, not detected, error = 1
    (s,) = feature_scores(background, x, [f], baseline=background, margin=3)
    assert s["contrast_recovery"] == pytest.approx(0.0, abs=1e-12)
    assert s["local_error"] == pytest.approx(1.0) and not s["detected"]
    assert s["recovered_fraction"] == pytest.approx(0.0)

    # full contrast buried in noise on the ring: CNR below 2, not detected
    noisy = x.clone()
    ring = masks["ring"]
    pattern = torch.tensor([1.0, -1.0]).repeat(int(ring.sum()) // 2 + 1)[: int(ring.sum())]
    noisy[0, 0][ring] += 0.2 * pattern
    (s,) = feature_scores(noisy, x, [f], margin=3)
    assert s["cnr"] < 2 and not s["detected"]


def test_scores_of_a_complex_reconstruction_use_its_magnitude():
    f = Feature("line", 8, 8, 3.0, -0.1)
    x = insert_features(torch.full((16, 16), 0.5), [f])
    (s,) = feature_scores(torch.polar(x, torch.full_like(x, 0.7)), x, [f])
    assert s["local_error"] == pytest.approx(0.0, abs=1e-6) and s["contrast_recovery"] == pytest.approx(1.0)


def test_placement_is_reproducible_and_respects_the_rules():
    img = torch.full((64, 64), 0.5)
    img[:, :20] = 0.0  # empty background: below the floor
    shapes = [("disc", 1.0, 0.2), ("disc", 2.0, -0.2), ("line", 6.0, 0.2)]
    a = place_features(img, shapes, spacing=12, generator=3)
    b = place_features(img, shapes, spacing=12, generator=3)
    assert a == b and [f.kind for f in a] == ["disc", "disc", "line"]
    for i, f in enumerate(a):
        extent = math.ceil(f.size if f.kind == "disc" else f.size / 2) + 4  # footprint + margin 3 + 1
        assert f.col - extent >= 20  # the whole window inside the object
        for g in a[i + 1 :]:
            assert math.hypot(f.row - g.row, f.col - g.col) >= 12
    with pytest.raises(ValueError, match=r"shapes\[0\]: no room"):
        place_features(img, [("disc", 1.0, 0.6)])  # 0.5 + 0.6 > 1 everywhere
    with pytest.raises(ValueError, match="kind must be one of"):
        place_features(img, [("square", 1.0, 0.1)])
    with pytest.raises(ValueError, match="size must be > 0"):
        Feature("disc", 1, 1, 0.0, 0.1)

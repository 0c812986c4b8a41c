"""The digits: fixed disjoint splits, values in [0, 1], the presets' held-out sample picked by the seed."""

import pytest
import torch

from inverselab.data import DIGIT_SPLITS, digit_labels, digits
from inverselab.presets import make_problem


def test_splits_are_disjoint_and_cover_the_set():
    parts = {s: digits(s, size=8) for s in DIGIT_SPLITS}
    assert [parts[s].shape[0] for s in ("train", "validation", "test")] == [1400, 100, 297]
    everything = digits("all", size=8)
    assert torch.equal(torch.cat([parts["train"], parts["validation"], parts["test"]]), everything)
    # the 8 x 8 originals have 17 gray levels, scaled to [0, 1]
    assert torch.equal(torch.round(everything * 16), everything * 16) and float(everything.max()) == 1.0
    assert digit_labels("test").shape == (297,) and set(digit_labels("all").tolist()) == set(range(10))


def test_upscaled_digits_keep_the_range_and_the_picture():
    small, big = digits("validation", size=8), digits("validation", size=32)
    assert big.shape == (100, 1, 32, 32) and float(big.min()) >= 0 and float(big.max()) <= 1
    # averaging 4 x 4 blocks of the bicubic upscale gives back the 8 x 8 image closely
    back = torch.nn.functional.avg_pool2d(big, 4)
    assert float((back - small).abs().mean()) < 0.06  # 0.046 measured (the mean pixel is 0.30)


def test_presets_reconstruct_the_test_digit_of_the_seed():
    test = digits("test")
    assert torch.equal(make_problem("cs-digits-32", seed=5).x_true, test[5:6])
    assert torch.equal(make_problem("inpaint-digits-32", seed=300).x_true, test[3:4])  # 300 mod 297


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="split"):
        digits("holdout")
    with pytest.raises(ValueError, match="size"):
        digits("test", size=4)

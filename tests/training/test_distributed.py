"""DDP on CPU (gloo, 2 processes) follows the same trajectory as one process with the same global batch."""

import torch

from inverselab.training.checkpoints import load_weights
from inverselab.training.distributed import run_distributed
from inverselab.training.trainer import TrainConfig, train


def test_two_processes_match_one(tmp_path):
    config = TrainConfig(
        "denoise-sigma25",
        "drunet",
        {"features": [4, 8], "num_blocks": 1},
        epochs=2,
        steps_per_epoch=3,
        batch_size=4,
        patch=32,
        num_train=8,
        num_val=2,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = train(config, tmp_path / "one")
    finally:
        torch.set_num_threads(threads)
    double = run_distributed(config, tmp_path / "two", nprocs=2)
    a, _ = load_weights(tmp_path / "one" / "model")
    b, _ = load_weights(tmp_path / "two" / "model")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4), k
    assert any(not torch.equal(a[k], torch.zeros_like(a[k])) for k in a)
    losses = [h["train_loss"] for h in single["history"]], [h["train_loss"] for h in double["history"]]
    assert all(abs(x - y) < 1e-5 for x, y in zip(*losses, strict=True))
    assert (tmp_path / "two" / "checkpoints" / "latest").exists()

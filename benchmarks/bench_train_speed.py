"""Training speed (samples/s) of each shipped model's configuration on this machine.

Runs ``--steps`` optimizer steps (one epoch, after one warm-up epoch) of the configuration recorded in each
shipped sidecar (``inverselab list weights``), in a temporary folder, and prints the samples per second the
trainer logged. The data pool is small (``--num-train``) so that generating it does not dominate.

    python benchmarks/bench_train_speed.py [--steps 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from inverselab.training.trainer import TrainConfig, train
from inverselab.weights import list_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--num-train", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} torch threads, {args.steps} steps after a warm-up epoch\n")
    print("| weights | model | preset | batch x patch | samples/s | s/step |")
    print("|---|---|---|---|---:|---:|")
    for row in list_weights():
        from inverselab.training.checkpoints import read_sidecar

        meta = read_sidecar(Path(row["path"]).with_suffix(".json"))
        if "train_config" not in meta:  # the LISTA family trains stage-wise: its sidecar records the seconds
            continue
        saved = dict(meta["train_config"])
        saved.pop("sigma_range", None)
        saved.update(epochs=2, steps_per_epoch=args.steps, num_train=args.num_train, num_val=4)
        config = TrainConfig(**{k: v for k, v in saved.items() if k in TrainConfig.__dataclass_fields__})
        with tempfile.TemporaryDirectory() as tmp:
            facts = train(config, tmp)
        rate = facts["history"][-1]["samples_per_s"]
        print(
            f"| {row['name']} | {config.model} | {config.preset} | {config.batch_size} x {config.patch} px "
            f"| {rate:.1f} | {config.batch_size / rate:.2f} |"
        )


if __name__ == "__main__":
    main()

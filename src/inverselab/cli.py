"""Command line: ``inverselab list``, ``inverselab solve``, ``inverselab bench``, ``inverselab train``.

A user mistake (unknown name, unreadable file, bad number) prints one line on stderr and exits with code 2;
set ``INVERSELAB_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

__all__ = ["main"]


class UsageError(Exception):
    """A mistake in the command line; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse's default prints usage first)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="inverselab", description="Solve and compare methods for inverse problems.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p_list = sub.add_parser("list", help="list presets, methods, weights, bench suites or studies")
    p_list.add_argument("what", choices=["presets", "methods", "weights", "suites", "studies"])
    p_list.add_argument("--json", action="store_true", help="machine-readable output")

    p_solve = sub.add_parser("solve", help="solve one problem and write images and metrics")
    p_solve.add_argument("preset", help="a preset name (see `inverselab list presets`)")
    p_solve.add_argument("--method", help="a method name (default: the preset's best classical method)")
    src = p_solve.add_mutually_exclusive_group()
    src.add_argument("--sample", help="a bundled test image (e.g. camera, shepp_logan)")
    src.add_argument("--image", help="an image file (PNG, JPG, TIFF or NPY)")
    p_solve.add_argument("--size", type=int, help="image side length (default: the preset's)")
    p_solve.add_argument(
        "--noise",
        type=float,
        help="Gaussian noise std replacing the preset's noise (for noise-shift studies)",
    )
    p_solve.add_argument("--seed", type=int, default=0, help="seed for the operator, signal and noise")
    p_solve.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a method parameter overriding the preset's (repeatable; VALUE as JSON, else a string), "
        "e.g. --param denoiser=bm3d --param sigma=0.03",
    )
    p_solve.add_argument(
        "--num-samples",
        type=int,
        help="posterior samplers (dps, pigdm): draw K samples; the reconstruction is their mean, and their "
        "pixel-wise standard deviation is saved beside it (std.npy, std.png, a panel of comparison.png)",
    )
    p_solve.add_argument("--out", default="out", help="output directory (default: out)")
    p_solve.add_argument("--quiet", action="store_true", help="no progress bar")

    p_train = sub.add_parser(
        "train",
        help="train a network for a preset (measurements simulated on the fly)",
        description="Train a denoiser (dncnn, drunet), a post-processing U-Net (unet), an unrolled network "
        "(unrolled-pg, modl, lpd, varnet), a LISTA-family network, or a generative prior of the preset's "
        "image class (vae, gan, ddpm; e.g. on cs-digits-32) for PRESET. Writes checkpoints/, log.csv and "
        "model.safetensors + model.json (the sidecar records this command).",
    )
    p_train.add_argument("preset", help="an image preset (see `inverselab list presets`)")
    p_train.add_argument(
        "--model",
        required=True,
        help="unet, dncnn, drunet; unrolled-pg, modl, lpd, varnet (multi-coil MRI); "
        "lista, lista-cp, lista-cpss, alista, lamp (vectors); vae, gan, ddpm (generative priors)",
    )
    p_train.add_argument(
        "--net",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a network argument overriding the small CPU default (repeatable; VALUE as JSON), e.g. "
        "--net chans=32 --net num_pool_layers=4 (unet), --net features=[32,64,128,256] (drunet), "
        "--net tied=true (lista-cp, lista-cpss)",
    )
    p_train.add_argument("--epochs", type=int, default=5, help="epochs (default 5)")
    p_train.add_argument("--steps", type=int, default=50, help="optimizer steps per epoch (default 50)")
    p_train.add_argument(
        "--batch-size", type=int, help="images (vectors) per step (default 8; 64 for LISTA and vae/gan/ddpm)"
    )
    p_train.add_argument(
        "--lr",
        type=float,
        help="peak learning rate (default 1e-3; 5e-4 for LISTA; vae 1e-3, gan and ddpm 2e-4, constant)",
    )
    p_train.add_argument(
        "--weight-lr",
        type=float,
        help="LISTA family: learning rate of the matrices (W, B); default --lr. Lower suits a network "
        "started at good weights (--model lista-cp --net init=analytic)",
    )
    p_train.add_argument(
        "--layers", type=int, default=16, help="LISTA family (cs-sparse-250x500): layers (default 16)"
    )
    p_train.add_argument(
        "--stage-steps",
        default="2000,1000,1000",
        help="LISTA family: steps of each layer's stages: the new layer, then each refinement "
        "(default 2000,1000,1000)",
    )
    p_train.add_argument(
        "--patience",
        type=int,
        help="LISTA family: end a stage after this many steps without a better held-out NMSE (the papers' "
        "rule, with --stage-steps as the caps; default: run every stage to its cap)",
    )
    p_train.add_argument(
        "--snr-db",
        type=float,
        help="LISTA family: measurement SNR in dB for training and validation (default: noiseless)",
    )
    p_train.add_argument(
        "--loss",
        default="mse",
        help="mse (default), l1, ssim; or, for denoisers without clean data, sure or noise2self "
        "(self-supervised: the loss never sees a clean image)",
    )
    p_train.add_argument("--patch", type=int, default=64, help="training image size (default 64)")
    p_train.add_argument(
        "--data", help="dead-leaves, ellipses, photos, natural, phantoms, or a folder of your images"
    )
    p_train.add_argument(
        "--noisy-data",
        action="store_true",
        help="the --data folder's images already carry the preset's noise (with --loss sure|noise2self)",
    )
    p_train.add_argument("--num-train", type=int, default=256, help="training images (default 256)")
    p_train.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p_train.add_argument("--out", help="run directory (default: runs/PRESET-MODEL)")
    p_train.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p_train.add_argument(
        "--device", default="auto", help="auto (CUDA when available, default), cpu, cuda, cuda:1"
    )
    p_train.add_argument("--amp", action="store_true", help="mixed precision (float16 autocast; CUDA only)")
    p_train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also log to OUT/tensorboard (needs pip install tensorboard)",
    )
    p_train.add_argument(
        "--weights-dtype",
        default="float32",
        help="storage dtype of the final model.safetensors: float32 (default) or float16 (half the size, "
        "for shipping; checkpoints stay float32)",
    )
    p_train.add_argument("--quiet", action="store_true", help="no progress bar")

    p_bench = sub.add_parser(
        "bench",
        help="run a suite of presets x methods x test images; write results and reports",
        description="Run every method of a suite on the same problems and write results.json, results.csv, "
        "report.md and a self-contained index.html into --out. With --study, run a study instead.",
    )
    p_bench.add_argument(
        "--suite", default="quick", help="quick (default, < 5 min), full, untrained, or tiny"
    )
    p_bench.add_argument(
        "--study",
        help="phase-transition, noise-shift, sampling-shift, adversarial, small-features, "
        "distribution-shift, test-time-training, ... (--suite sets its size)",
    )
    p_bench.add_argument("--presets", help="comma-separated presets to keep (default: all of the suite's)")
    p_bench.add_argument("--methods", help="comma-separated methods to keep (default: each preset's)")
    p_bench.add_argument("--num-images", type=int, help="keep the first K test images of each preset")
    p_bench.add_argument("--seed", type=int, default=0, help="added to the suite's seeds (default 0)")
    p_bench.add_argument("--size", type=int, help="image side length for every image preset")
    p_bench.add_argument("--out", help="output directory (default: bench-results/<suite or study>)")
    p_bench.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p_bench.add_argument(
        "--time-budget", type=float, help="seconds per reconstruction (default: the suite's)"
    )
    p_bench.add_argument("--resume", action="store_true", help="skip the records already in OUT/results.json")
    p_bench.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _cmd_list(args) -> int:
    if args.what == "presets":
        from .presets import PRESETS

        rows = [
            {
                "name": p.name,
                "description": p.description,
                "kind": p.kind,
                "metric": p.metric,
                "default_method": p.default_method,
                "methods": list(p.methods),
                "learned": list(p.learned),
                "untrained": list(p.untrained),
                "baseline": p.baseline,
                "size": p.size,
                "sample": p.sample,
            }
            for p in PRESETS.values()
        ]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            width = max(len(r["name"]) for r in rows)
            for r in rows:
                print(f"{r['name']:<{width}}  {r['description']}")
                print(f"{'':<{width}}  methods: {', '.join(r['methods'])} (default {r['default_method']})")
                if r["learned"]:
                    print(f"{'':<{width}}  learned: {', '.join(r['learned'])}")
                if r["untrained"]:
                    print(f"{'':<{width}}  untrained: {', '.join(r['untrained'])} (minutes per image)")
        return 0
    if args.what in ("suites", "studies"):
        return _list_bench(args.what, args.json)
    if args.what == "weights":
        return _list_weights(args.json)
    from .methods import METHODS

    rows = [
        {"name": m.name, "family": m.family, "description": m.description, "citation": m.citation}
        for m in METHODS.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            cite = f"  [{r['citation']}]" if r["citation"] else ""
            print(f"{r['name']:<{width}}  {r['description']}{cite}")
    return 0


def _list_weights(as_json: bool) -> int:
    from .weights import list_weights, weight_dirs

    rows = list_weights()
    if as_json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no weights in {', '.join(map(str, weight_dirs()))}")
    for r in [] if as_json else rows:
        if "error" in r:
            print(f"{r['name']}  unreadable: {r['error']}")
            continue
        metrics = r.get("metrics") or {}
        psnr, nmse_db = metrics.get("val_psnr"), metrics.get("nmse_db")
        score = f", validation PSNR {psnr:.2f} dB" if isinstance(psnr, float) else ""
        score += f", held-out NMSE {nmse_db:.2f} dB" if isinstance(nmse_db, float) else ""
        val_loss = metrics.get("val_loss")  # generative priors: the held-out training loss
        score += (
            f" (a prior of its images), validation loss {val_loss:.4g}" if isinstance(val_loss, float) else ""
        )
        if "val_d_loss" in metrics:
            score += " (a prior of its images)"
        print(f"{r['name']}  {r['model']} for {r['preset']}{score}\n    made by: {r['command'] or '?'}")
    return 0


def _list_bench(what: str, as_json: bool) -> int:
    if what == "suites":
        from .bench.suites import SUITES

        rows = [
            {
                "name": s.name,
                "description": s.description,
                "presets": [e.preset for e in s.entries],
                "time_budget": s.time_budget,
            }
            for s in SUITES.values()
        ]
    else:
        from .bench.studies import STUDIES

        rows = [{"name": name, "description": desc} for name, (_, desc) in STUDIES.items()]
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['description']}")
    return 0


def _cmd_solve(args) -> int:
    from .methods import METHODS, get_method
    from .presets import evaluate, get_preset

    preset = get_preset(args.preset)
    method_name = args.method or preset.default_method
    if method_name not in METHODS:
        from .methods import list_methods

        raise ValueError(f"--method must be one of {', '.join(list_methods())}; got {method_name!r}")
    if preset.kind == "graph":
        return _solve_graph(args, preset, method_name)
    if args.size is not None and not (8 <= args.size <= 4096):
        raise ValueError(f"--size must be between 8 and 4096, got {args.size}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.noise is not None and not args.noise >= 0:
        raise ValueError(f"--noise must be a noise standard deviation >= 0, got {args.noise}")
    if args.image and preset.kind != "image":
        raise ValueError(f"--image is only for image presets; {preset.name!r} works on vectors")
    if args.num_samples is not None:
        if not METHODS[method_name].posterior:
            samplers = ", ".join(m.name for m in METHODS.values() if m.posterior)
            raise ValueError(
                f"--num-samples is for posterior samplers ({samplers}); {method_name!r} is not one"
            )
        if args.num_samples < 1:
            raise ValueError(f"--num-samples must be >= 1, got {args.num_samples}")

    import torch

    from .presets import make_problem

    x = None
    if args.image:
        from .data import load_image

        x = load_image(args.image, size=args.size or preset.size, gray=True).unsqueeze(0)
    problem = make_problem(
        preset, x, sample=args.sample, size=args.size, seed=args.seed, noise_sigma=args.noise
    )
    info = METHODS[method_name]
    params = {**preset.method_params(method_name), **_method_params(info, args.param)}
    if info.iterative:
        params["progress"] = not args.quiet and sys.stderr.isatty()
    std = None
    if args.num_samples is not None:
        params.update(num_samples=args.num_samples, return_samples=True)
    method = get_method(method_name, **params)
    start = time.perf_counter()
    with torch.no_grad():
        x_hat = method(problem.y, problem.A)
        if args.num_samples is not None:  # K samples: the mean is the reconstruction, the std its spread
            samples = x_hat
            x_hat = samples.mean(dim=0, keepdim=True)
            std = samples.std(dim=0, keepdim=True) if samples.shape[0] > 1 else torch.zeros_like(x_hat)
    seconds = time.perf_counter() - start

    result = {"preset": preset.name, "method": method_name, **evaluate(x_hat, problem.x_true, preset)}
    result.update(
        seconds=seconds,
        seed=args.seed,
        sample=args.image or args.sample or preset.sample,
        shape=list(problem.x_true.shape[1:]),
        params={k: v for k, v in params.items() if k not in ("progress", "return_samples")},
    )
    if std is not None:
        err = (x_hat - problem.x_true).abs()
        result.update(
            num_samples=args.num_samples,
            mean_std=float(std.mean()),
            mean_abs_error=float(err.mean()),
            # how well the spread predicts the error: correlation of the std and |error| maps
            std_error_correlation=float(torch.corrcoef(torch.stack([std.flatten(), err.flatten()]))[0, 1])
            if args.num_samples > 1
            else None,
        )
    from . import __version__

    result["version"] = __version__

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    from .presets import align_to_truth
    from .viz import save_comparison, save_image, save_vector_comparison

    rec = align_to_truth(x_hat.detach(), problem.x_true, preset).cpu()  # phase retrieval: a global phase
    np.save(out / "reconstruction.npy", rec[0].numpy())
    headline = (
        f"NMSE {result['nmse_db']:.2f} dB" if preset.metric == "nmse_db" else f"PSNR {result['psnr']:.2f} dB"
    )
    title = f"{preset.name} - {method_name}: {headline}, {seconds:.2f} s"
    if std is not None:
        np.save(out / "std.npy", std[0].cpu().numpy())
        np.save(out / "samples.npy", samples.cpu().numpy())
        title += f", {args.num_samples} samples"
    if preset.kind == "image":
        save_image(out / "reconstruction.png", rec)
        if std is not None:
            save_image(out / "std.png", (std / std.max().clamp(min=1e-12)).cpu())
        save_comparison(out / "comparison.png", problem.x_true, problem.y, problem.A, rec, title, std=std)
    else:
        save_vector_comparison(out / "reconstruction.png", problem.x_true, rec, title)
        save_vector_comparison(out / "comparison.png", problem.x_true, rec, title)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{title}  ->  {out}/")
    return 0


def _solve_graph(args, preset, method_name: str) -> int:
    """``inverselab solve sbm-2groups [--method M] [--size N] [--seed S]``: labels and overlap, no images."""
    from .methods import METHODS, get_method
    from .presets import evaluate, make_problem

    if args.image or args.noise is not None or args.num_samples is not None:
        raise ValueError(
            f"--image, --noise and --num-samples do not apply to the graph preset {preset.name!r}"
        )
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    graph_methods = [m.name for m in METHODS.values() if m.target.startswith("inverselab.methods.community:")]
    if method_name not in graph_methods:
        raise ValueError(
            f"--method must be a community-detection method ({', '.join(graph_methods)}); got {method_name!r}"
        )
    problem = make_problem(preset, sample=args.sample, size=args.size, seed=args.seed)
    info = METHODS[method_name]
    params = {**preset.method_params(method_name), **_method_params(info, args.param)}
    if info.iterative:
        params["progress"] = not args.quiet and sys.stderr.isatty()
    start = time.perf_counter()
    x_hat = get_method(method_name, **params)(problem.y, problem.A)
    seconds = time.perf_counter() - start
    from . import __version__

    result = {"preset": preset.name, "method": method_name, **evaluate(x_hat, problem.x_true, preset)}
    A = problem.A
    result.update(
        seconds=seconds,
        seed=args.seed,
        num_nodes=A.num_nodes,
        num_edges=int(problem.y.indices().shape[1] // 2),
        q=A.q,
        c_in=A.c_in,
        c_out=A.c_out,
        params={k: v for k, v in params.items() if k != "progress"},
        version=__version__,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    np.save(out / "labels.npy", x_hat[0].cpu().numpy())
    np.save(out / "labels_true.npy", problem.x_true[0].cpu().numpy())
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{preset.name} - {method_name}: overlap {result['overlap']:.3f}, {seconds:.2f} s  ->  {out}/")
    return 0


def _key_values(flag: str, pairs: list[str], fn, skip: tuple[str, ...], strings: bool) -> dict:
    """``KEY=VALUE`` pairs of ``flag`` as keyword arguments of ``fn``: each KEY must be one of ``fn``'s
    parameters (but not ``skip``); VALUE is read as JSON, else kept as a string if ``strings`` or a bare
    word."""
    import inspect

    accepted = [n for n in inspect.signature(fn).parameters if n not in skip]
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key not in accepted:
            raise ValueError(f"{flag} must be KEY=VALUE with KEY one of {', '.join(accepted)}; got {pair!r}")
        try:
            out[key] = json.loads(text)
        except json.JSONDecodeError:
            # a bare word is a string (a method name such as initial=fbp; the callee checks it)
            if not strings and not re.fullmatch(r"[A-Za-z][A-Za-z-]*", text):
                raise ValueError(
                    f"{flag} {key}: VALUE must be JSON (a number, a list) or a word, got {text!r}"
                ) from None
            out[key] = text
    return out


def _method_params(info, pairs: list[str]) -> dict:
    """``--param KEY=VALUE`` pairs as keyword arguments of the method ``info``."""
    return _key_values("--param", pairs, info.load(), ("y", "A", "progress"), strings=True)


def _network_config(model: str, pairs: list[str]) -> dict:
    """``--net KEY=VALUE`` pairs as keyword arguments of the network ``model``, except what the preset and
    the other flags set: an image network's channels, a sparse-coding network's matrix, sizes and layer
    count (``--layers``)."""
    from .networks import NETWORKS

    if model not in NETWORKS:
        return {}  # TrainConfig.check names the bad --model
    preset_set = ("channels", "in_chans", "out_chans", "A", "num_layers", "m", "n", "image_size", "network")
    preset_set += ("sample_shape",)
    return _key_values("--net", pairs, NETWORKS[model], preset_set, strings=False)


def _command_line() -> str:
    """This invocation as ``inverselab ...`` (recorded in results and weights), or ``""`` when called as a
    function (``main([...])``)."""
    return "inverselab " + " ".join(sys.argv[1:]) if sys.argv and "inverselab" in sys.argv[0] else ""


def _given(value, default):
    """``value``, or ``default`` if the option was left out (an explicit 0 stays, for the checks)."""
    return default if value is None else value


def _cmd_train_sparse(args) -> int:
    """``inverselab train cs-sparse-250x500 --model lista|lista-cp|lista-cpss|alista|lamp``: stage-wise."""
    from .training.sparse_coding import train_sparse_coding

    model_kwargs = _network_config(args.model, args.net)
    try:
        steps = tuple(int(v) for v in args.stage_steps.split(","))
    except ValueError:
        raise ValueError(
            f"--stage-steps must be comma-separated integers, got {args.stage_steps!r}"
        ) from None
    out = Path(args.out or f"runs/{args.preset}-{args.model}")
    start = time.perf_counter()
    _, history = train_sparse_coding(
        args.model,
        args.layers,
        preset=args.preset,
        seed=args.seed,
        batch_size=_given(args.batch_size, 64),
        lr=_given(args.lr, 5e-4),
        steps=steps,
        snr_db=args.snr_db,
        patience=args.patience,
        model_kwargs=model_kwargs,
        weight_lr=args.weight_lr,
        # one line per layer (16 in all), also into logs: a long run shows where it is
        progress=False if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True)),
        out=out / "model",
        command=_command_line(),
        checkpoint_dir=out / "checkpoints",
        resume=args.resume,
    )
    print(
        f"{args.preset} / {args.model}: held-out NMSE {history['nmse_db_per_layer'][-1]:.2f} dB at "
        f"{args.layers} layers, {time.perf_counter() - start:.0f} s  ->  {out}/model.safetensors"
    )
    return 0


def _cmd_train_generative(args) -> int:
    """``inverselab train cs-digits-32 --model vae|gan|ddpm``: a prior of the preset's image class."""
    from .training.generative import GenerativeConfig, train_generative

    config = GenerativeConfig(
        args.preset,
        args.model,
        _network_config(args.model, args.net),
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        batch_size=_given(args.batch_size, 64),
        lr=args.lr,
        data=args.data,
        num_train=args.num_train,
        seed=args.seed,
    ).check()
    out = Path(args.out or f"runs/{args.preset}-{args.model}")
    start = time.perf_counter()
    side = train_generative(
        config,
        out,
        resume=args.resume,
        progress=not args.quiet and sys.stderr.isatty(),
        command=_command_line(),
        device=args.device,
        weights_dtype=args.weights_dtype,
    )
    shown = ", ".join(f"{k} {v:.4g}" for k, v in side["metrics"].items())
    print(
        f"{args.preset} / {args.model}: {shown}, {time.perf_counter() - start:.0f} s  ->  "
        f"{out}/model.safetensors (samples: {out}/samples.png)"
    )
    return 0


def _cmd_train_graph(args) -> int:
    """``inverselab train sbm-2groups --model gnn``: a graph network on generated SBM graphs."""
    from .networks import GraphNet
    from .training.community import GraphTrainConfig, train_graph_network

    config = GraphTrainConfig(
        args.preset,
        _key_values("--net", args.net, GraphNet, ("q",), strings=False),  # q is the preset's
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        lr=_given(args.lr, 3e-3),
        seed=args.seed,
    ).check()
    out = Path(args.out or f"runs/{args.preset}-{args.model}")
    start = time.perf_counter()
    _, history = train_graph_network(
        config, out, command=_command_line(), progress=not args.quiet and sys.stderr.isatty()
    )
    shown = ", ".join(f"{k} {v:.3f}" for k, v in history["val"][-1].items())
    print(
        f"{args.preset} / {args.model}: train loss {history['loss'][-1]:.3f}, {shown}, "
        f"{time.perf_counter() - start:.0f} s  ->  {out}/model.safetensors"
    )
    return 0


def _cmd_train(args) -> int:
    from .training.community import GRAPH_MODELS
    from .training.generative import GENERATIVE_MODELS
    from .training.sparse_coding import SPARSE_CODING_MODELS
    from .training.trainer import TrainConfig, train

    if args.model in GRAPH_MODELS:
        return _cmd_train_graph(args)
    if args.model in SPARSE_CODING_MODELS:
        return _cmd_train_sparse(args)
    if args.model in GENERATIVE_MODELS:
        return _cmd_train_generative(args)

    config = TrainConfig(
        args.preset,
        args.model,
        _network_config(args.model, args.net),
        loss=args.loss,
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        batch_size=_given(args.batch_size, 8),
        lr=_given(args.lr, 1e-3),
        patch=args.patch,
        data=args.data,
        noisy_data=args.noisy_data,
        num_train=args.num_train,
        seed=args.seed,
    ).check()
    out = Path(args.out or f"runs/{args.preset}-{args.model}")
    command = _command_line()
    from .training.distributed import init_from_env

    distributed = init_from_env()  # under torchrun: join the process group (DDP)
    start = time.perf_counter()
    try:
        progress = not args.quiet and sys.stderr.isatty()
        side = train(
            config,
            out,
            resume=args.resume,
            progress=progress,
            command=command,
            device=args.device,
            amp=args.amp,
            tensorboard=args.tensorboard,
            weights_dtype=args.weights_dtype,
        )
    finally:
        if distributed:
            import torch.distributed as dist

            dist.destroy_process_group()
    if os.environ.get("RANK", "0") != "0":
        return 0
    m = side["metrics"]
    print(
        f"{args.preset} / {args.model}: validation PSNR {m['val_psnr']:.2f} dB "
        f"(input {m['input_psnr']:.2f} dB), {time.perf_counter() - start:.0f} s  ->  {out}/model.safetensors"
    )
    return 0


def _cmd_bench(args) -> int:
    from .bench.studies import get_study
    from .bench.suites import get_suite

    if args.jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {args.jobs}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.time_budget is not None and not args.time_budget > 0:
        raise ValueError(f"--time-budget must be > 0 seconds, got {args.time_budget}")
    if args.num_images is not None and args.num_images < 1:
        raise ValueError(f"--num-images must be >= 1, got {args.num_images}")
    if args.size is not None and not (8 <= args.size <= 4096):
        raise ValueError(f"--size must be between 8 and 4096, got {args.size}")
    progress = not args.quiet and sys.stderr.isatty()
    command = _command_line()
    if args.study:
        study = get_study(args.study)
        if args.suite not in ("quick", "full"):
            raise ValueError(f"--suite must be quick or full for a study, got {args.suite!r}")
        out = Path(args.out or f"bench-results/{args.study}")
        out.mkdir(parents=True, exist_ok=True)
        from . import __version__
        from .bench.report import write_study_report
        from .bench.runner import git_commit, machine_facts

        start = time.perf_counter()
        result = study(
            out,
            suite=args.suite,
            presets=_names(args.presets),
            methods=_names(args.methods),
            seed=args.seed,
            jobs=args.jobs,
            progress=progress,
        )
        meta = {"version": __version__, "git_commit": git_commit(), "seed": args.seed, "command": command}
        meta.update(machine=machine_facts(), jobs=args.jobs)
        meta["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        _, page = write_study_report(out, result, meta)
        print(f"{result.title}: {time.perf_counter() - start:.0f} s  ->  {page}")
        return 0

    from .bench.report import summarize, write_report
    from .bench.runner import plan, run_bench
    from .bench.suites import NATURAL_TEST, PHANTOM_TEST

    suite = get_suite(args.suite)
    tasks = plan(
        suite,
        presets=_names(args.presets),
        methods=_names(args.methods),
        num_images=args.num_images,
        seed=args.seed,
        size=args.size,
    )
    out = Path(args.out or f"bench-results/{suite.name}")
    meta = {
        "suite": suite.name,
        "suite_description": suite.description,
        "seed": args.seed,
        "command": command,
        "test_images": f"natural-image presets: {', '.join(NATURAL_TEST)}; phantom presets: "
        f"{', '.join(PHANTOM_TEST)} (scikit-image / generated; learned methods never train on them)",
    }
    budget = args.time_budget if args.time_budget is not None else suite.time_budget
    start = time.perf_counter()
    results = run_bench(
        tasks, out, jobs=args.jobs, time_budget=budget, resume=args.resume, progress=progress, meta=meta
    )
    md, page = write_report(out, results)
    records = results["records"]
    failed = sum(r["status"] != "ok" for r in records)
    for preset, rows in summarize(records).items():
        best = rows[0]
        key = "nmse_db" if "psnr" not in best.stats else "psnr"
        if key in best.stats:
            value = best.stats[key].mean
            label = "PSNR" if key == "psnr" else "NMSE"
            print(f"{preset:<20} best: {best.method:<14} {label} {value:7.2f} dB")
    print(
        f"{len(records)} runs ({failed} failed) in {time.perf_counter() - start:.0f} s  ->  "
        f"{out / 'results.json'}, {md}, {page}"
    )
    return 0


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"expected a comma-separated list of names, got {text!r}")
    return names


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``inverselab`` command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            from . import __version__

            print(f"inverselab {__version__}")
            return 0
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "list":
            return _cmd_list(args)
        if args.command == "bench":
            return _cmd_bench(args)
        if args.command == "train":
            return _cmd_train(args)
        return _cmd_solve(args)
    except (UsageError, ValueError, TypeError, OSError) as err:
        if os.environ.get("INVERSELAB_DEBUG"):
            raise
        print(f"inverselab: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inverselab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

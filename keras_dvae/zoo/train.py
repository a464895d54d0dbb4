"""Retrains a pretrained preset from its recipe, evaluates it and exports it.

    python -m keras_dvae.zoo.train dvaepp_mnist_static --data-dir ../shared/data
    python -m keras_dvae.zoo.train dvaepp_cifar10 --epochs 1 --export /tmp/x
    python -m keras_dvae.zoo.train --list
    python -m keras_dvae.zoo.train --table

NAME is a recipe of `keras_dvae.recipes` (every pretrained preset has one
of the same name, holding what the preset was trained with). Training is
`keras_dvae.training.train`; this module adds what a preset needs on top:
an epoch count from a wall-clock budget (`--time-budget`), data
parallelism, the preset's extra metrics, a `ci_check`, and the export of
the folder (`zoo.export`, model card, `train.sh`). Training writes
`<output>/backup` (weights, optimizer state, PCD chains, epoch) every
epoch: rerun the same command to resume an interrupted run.

Data parallel. `--data-parallel` (JAX backend) sets
`keras.distribution.DataParallel` over every visible device before the
model is built: each batch is split across devices and the gradients are
averaged, the same computation as on one device (tested on two virtual CPU
devices, `XLA_FLAGS=--xla_force_host_platform_device_count=2`).
"""

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time

import numpy as np


def _probe_rate(recipe, data, seed, steps=200, skip=40):
    """Training steps per second of `recipe` on this machine, measured on a
    throw-away copy of the model (the run itself then starts fresh); the
    first `skip` steps, which hold the compilation, are not timed."""
    import keras

    from keras_dvae import training

    class StepTimer(keras.callbacks.Callback):
        done = 0

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            if self.done == skip:
                self.start = time.perf_counter()
            elif self.done == steps:
                self.rate = (steps - skip) / (time.perf_counter() - self.start)
                self.model.stop_training = True

    model = training.build_model(recipe, data, seed)
    model.compile(optimizer=keras.optimizers.Adam(recipe["learning_rate"]))
    timer = StepTimer()
    batches = training.training_batches(data, recipe["batch_size"], seed=seed + 1)
    epochs = math.ceil(steps / len(batches))
    model.fit(batches, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.rate


def epochs_for_budget(recipe, data, seed, seconds, margin=0.85):
    """Epochs that fit in `seconds` of training at the probed speed (the
    schedule is fixed in steps, so the budget becomes an epoch count).

    Returns:
        (epochs, probed steps per second).
    """
    rate = _probe_rate(recipe, data, seed)
    steps_per_epoch = max(1, len(data.x_train) // recipe["batch_size"])
    epochs = max(1, int(margin * seconds * rate // steps_per_epoch))
    print(f"probe: {rate:.1f} steps/s; {seconds:.0f} s budget -> {epochs} epochs")
    return epochs, rate


def train(
    name,
    data_dir=None,
    output_dir=None,
    seed=0,
    verbose=1,
    data=None,
    time_budget=None,
    **overrides,
):
    """Trains recipe `name` with `keras_dvae.training.train`, unevaluated.

    Args:
        name: a recipe name (`keras_dvae.recipes.list_recipes()`).
        data_dir: where the dataset files are (see `datasets.load`).
        output_dir: run folder (default `outputs/zoo/NAME`).
        seed: seeds the model and the batch order.
        verbose: Keras `fit` verbosity.
        data: an already loaded `Dataset` (tests), else loaded from `data_dir`.
        time_budget: seconds of training; if given, the epoch count comes
            from a short speed probe (`epochs_for_budget`) instead of the
            recipe and is stored in the returned recipe, with
            "probed_steps_per_second".
        **overrides: recipe keys (`epochs`, `batch_size`, `model_args`, ...);
            None values are ignored.

    Returns:
        (model, recipe, data, train_seconds).
    """
    import keras

    from keras_dvae import training

    overrides = {k: v for k, v in overrides.items() if v is not None}
    _, recipe = training.resolve(name, **overrides)
    output_dir = output_dir or os.path.join("outputs", "zoo", name)
    data = training.load_data(recipe, data_dir) if data is None else data
    probed = None
    if time_budget is not None:
        keras.utils.set_random_seed(seed)
        overrides["epochs"], probed = epochs_for_budget(recipe, data, seed, time_budget)
        # Forget the probe's model: the run gets the layer names (and the
        # random state) it would have had without the probe.
        keras.backend.clear_session()
    run = training.train(
        name,
        output_dir=output_dir,
        seed=seed,
        data=data,
        verbose=verbose,
        evaluate_model=False,
        **overrides,
    )
    recipe = dict(run.recipe)
    if probed is not None:
        recipe["probed_steps_per_second"] = probed
    return run.model, recipe, data, run.train_seconds


def load_trained(name, output_dir, data_dir=None, **overrides):
    """The model `train` left in `output_dir` (to evaluate or export again).

    Returns:
        (model, recipe, data, train_seconds) as `train`.
    """
    from keras_dvae import training

    model, saved = training.load_trained(output_dir)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    _, recipe = training.resolve(saved["training"], **overrides)
    data = training.load_data(recipe, data_dir)
    with open(os.path.join(output_dir, training.METRICS_FILE)) as f:
        seconds = json.load(f)["train_seconds"]
    return model, recipe, data, seconds


def evaluate(model, config, data, data_dir=None, verbose=1):
    """Test metrics of a trained preset: a dict for its metadata.

    `keras_dvae.training.evaluate` under the recipe's settings; for 8-bit
    data, also the lossless CIFAR-10 training images when available.
    """
    from keras_dvae import datasets, training

    metrics = training.evaluate(model, data, config, verbose=verbose)
    if not data.binary and not data.dynamic_binarization:
        try:
            lossless = datasets.load(
                "cifar10", data_dir, download=False, variant="lossless_first4000"
            )
        except Exception as error:  # the lossless file is optional
            print(f"lossless CIFAR-10 images not available: {error}")
        else:
            n, k = config["eval_examples"], config["eval_samples"]
            rows = training.evaluation_rows(len(lossless.x_train), n)
            ll = model.log_likelihood(
                lossless.x_train[rows], num_samples=k, verbose=verbose
            )
            dims = int(np.prod(data.image_shape))
            metrics["lossless_train_ll"] = {
                "mean": float(ll.mean()),
                "bits_per_dim": float(-np.mean(ll) / (dims * math.log(2))),
                "num_samples": k,
                "num_examples": len(rows),
                "examples": f"{len(rows)} random of the 4,000 lossless TRAINING "
                "images (not a test-set number)",
            }
    return metrics


def ci_check(model, config, data, repeats=3):
    """A CI-sized re-measurement: mean LL of the first test rows, with a
    tolerance of 5 × the spread of `repeats` independent estimates (at least
    1 nat, or 0.002 nats per dimension for 8-bit data)."""
    x = data.x_test[: config["ci_examples"]]
    means = [
        float(model.log_likelihood(x, num_samples=config["ci_samples"]).mean())
        for _ in range(repeats)
    ]
    dims = int(np.prod(data.image_shape))
    floor = 1.0 if (data.binary or data.dynamic_binarization) else 0.002 * dims
    check = {
        "dataset": config["dataset"],
        "split": "test",
        "num_examples": len(x),
        "num_samples": config["ci_samples"],
        "mean": float(np.mean(means)),
        "tolerance": round(max(floor, 5 * float(np.std(means, ddof=1))), 3),
    }
    info = model.prior.log_partition_info if model.prior.has_log_partition else None
    if info:
        check["log_partition"] = "exact" if info["method"] == "exact" else info["log_z"]
    return check


def _device_word(training):
    hardware = training.get("hardware", "")
    return "GPU" if ("cuda" in hardware or "gpu" in hardware) else "CPU"


def zoo_table():
    """The Markdown table of every preset: measured metric against the paper."""
    from keras_dvae import zoo

    lines = [
        "| preset | dataset | measured (test) | K, examples | paper | budget |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in zoo.list_presets():
        meta = zoo.get_metadata(name)
        metrics = meta.get("metrics", {})
        key = next((k for k in ("test_ll", "test_ll_subset") if k in metrics), None)
        measured, detail = "—", ""
        if key:
            m = metrics[key]
            measured = f"{m['mean']:.2f} nats"
            if "bits_per_dim" in m:
                measured = f"{m['bits_per_dim']:.3f} bits/dim"
            detail = f"K={m.get('num_samples')}, {m.get('num_examples')}"
        paper = meta.get("paper") or {}
        reference = paper.get("test_ll", paper.get("bits_per_dim", "—"))
        training = meta.get("training", {})
        budget = (
            f"{training.get('iterations', '?'):,} steps, "
            f"{training.get('train_seconds', 0) / 60:.0f} min "
            f"({training.get('backend', '?')}, {_device_word(training)})"
        )
        lines.append(
            f"| `{name}` | {meta.get('dataset')} | {measured} | {detail} | "
            f"{reference} | {budget} |"
        )
    return "\n".join(lines)


def _hardware(devices):
    """The machine in words: CPU cores, and the GPU's name if there is one
    (from `nvidia-smi`, so no backend is asked)."""
    text = f"{platform.machine()}, {os.cpu_count()} cores"
    if any(not str(d).startswith("cpu") for d in devices):
        try:
            names = subprocess.run(
                ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout.split("\n")
            text += f", {names[0].strip()}" if names[0].strip() else ""
        except (OSError, subprocess.SubprocessError):
            pass
    return f"{text}, devices {[str(d) for d in devices]}"


def _command(name, epochs, seed, backend):
    parts = [f"KERAS_BACKEND={backend}", "python", "-m", "keras_dvae.zoo.train", name]
    if epochs is not None:
        parts += ["--epochs", str(epochs)]
    parts += ["--seed", str(seed), "--data-dir", "../shared/data"]
    return " ".join(shlex.quote(p) for p in parts)


def export_preset(
    model,
    recipe,
    data,
    name,
    directory,
    *,
    metrics,
    steps,
    seconds,
    seed=0,
    budget_note="",
):
    """Writes a trained recipe as the preset folder `directory`.

    `zoo.export` (config, model-only weights, metadata, samples) with the
    recipe's description and paper figure, `metrics` (from `evaluate`),
    the training facts, the command that rebuilds it, a `ci_check`
    (`ci_check`), the model card and `train.sh`.

    Args:
        model: the trained model (its log Z estimate current).
        recipe: its full recipe.
        data: its `Dataset`.
        name: the recipe's name (the command in `train.sh`).
        directory: the preset folder.
        metrics: dict of test metrics (`evaluate`).
        steps: optimizer steps of the run.
        seconds: training wall time.
        seed: the run's seed.
        budget_note: text appended to the budget line.

    Returns:
        The metadata written.
    """
    import keras

    from keras_dvae import zoo
    from keras_dvae.utils import files, images

    check = ci_check(model, recipe, data)
    devices = keras.distribution.list_devices()
    command = _command(name, recipe["epochs"], seed, keras.backend.backend())
    metadata = {
        "dataset": recipe["dataset"],
        "description": recipe["description"],
        "paper": recipe["paper"],
        "metrics": metrics,
        "training": {
            "iterations": steps,
            "epochs": recipe["epochs"],
            "batch_size": recipe["batch_size"],
            "train_seconds": round(seconds, 1),
            "steps_per_second": round(steps / max(seconds, 1e-9), 2),
            "backend": keras.backend.backend(),
            "hardware": _hardware(devices),
            "budget": f"{recipe['epochs']} epochs on the hardware above"
            + budget_note
            + "; the paper trains for about 10^6 iterations on GPUs",
            "command": command,
        },
        "ci_check": check,
    }
    info = metrics.get("test_ll", {}).get("log_partition") or {}
    if info.get("method") in ("exact", "ais"):
        # The estimate `zoo.load` restores (without the reverse-AIS bracket).
        keys = ("log_z", "method", "log_z_lower", "log_z_upper", "num_betas")
        metadata["log_partition"] = {k: info[k] for k in keys if k in info}
    if data.lossy:
        metadata["lossy_data"] = (
            "Trained and tested on the lossy JPEG copy of CIFAR-10: bits/dim "
            "are NOT comparable with published numbers."
        )
    written = zoo.export(
        model, directory, metadata, samples=images.sample_grid(model, data)
    )
    zoo.write_model_card(directory)
    files.write_text(
        os.path.join(directory, "train.sh"),
        f"#!/usr/bin/env bash\n# Reproduces this preset.\n{command}\n",
    )
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", help="recipe to train (see --list)")
    parser.add_argument(
        "--list", action="store_true", help="list the recipes (* = pretrained)"
    )
    parser.add_argument(
        "--table", action="store_true", help="print the zoo's results table"
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=None)
    parser.add_argument(
        "--export", default=None, help="preset folder to write (default zoo/NAME)"
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        help="seconds of training: the epochs come from a speed probe "
        "(train.sh records the resulting --epochs)",
    )
    parser.add_argument("--data-parallel", action="store_true")
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="evaluate and export the weights a finished run left in --output-dir",
    )
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    if args.table:
        print(zoo_table())
        return 0
    if args.list or not args.name:
        from keras_dvae import recipes, zoo

        pretrained = set(zoo.list_presets())
        for key in recipes.list_recipes():
            mark = "*" if key in pretrained else " "
            print(f"{mark} {key:36s} {recipes.get(key)['description']}")
        return 0

    import keras

    if args.data_parallel:
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=devices)
        )
        print(f"data parallel over {len(devices)} device(s): {devices}")
    output_dir = args.output_dir or os.path.join("outputs", "zoo", args.name)
    if args.evaluate_only:
        model, config, data, seconds = load_trained(
            args.name, output_dir, args.data_dir, epochs=args.epochs
        )
    else:
        model, config, data, seconds = train(
            args.name,
            data_dir=args.data_dir,
            output_dir=output_dir,
            seed=args.seed,
            verbose=args.verbose,
            time_budget=args.time_budget,
            epochs=args.epochs,
        )
    steps = config["epochs"] * max(1, len(data.x_train) // config["batch_size"])
    print(f"trained {steps} steps in {seconds:.0f} s ({steps / seconds:.2f} steps/s)")
    metrics = evaluate(model, config, data, args.data_dir, verbose=0)
    print(json.dumps(metrics, indent=2, default=float))
    note = ""
    if args.time_budget:
        note = (
            f" (the epochs that fit a {args.time_budget:.0f} s budget at the "
            f"probed {config['probed_steps_per_second']:.1f} steps/s)"
        )
    directory = args.export or os.path.join("zoo", args.name)
    export_preset(
        model,
        config,
        data,
        args.name,
        directory,
        metrics=metrics,
        steps=steps,
        seconds=seconds,
        seed=args.seed,
        budget_note=note,
    )
    print(f"wrote {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Trains a zoo preset from scratch, evaluates it and exports its folder.

    python -m keras_dvae.zoo.train dvaepp_mnist_static --data-dir ../shared/data
    python -m keras_dvae.zoo.train dvaepp_cifar10 --epochs 1 --export /tmp/x
    python -m keras_dvae.zoo.train --list

Each preset folder's `train.sh` holds the exact command that produced it.
Training writes `<output>/backup` (weights, optimizer state, PCD chains,
epoch) every epoch: rerun the same command to resume an interrupted run.

Data parallel. `--data-parallel` (JAX backend) sets
`keras.distribution.DataParallel` over every visible device before the
model is built: each batch is split across devices and the gradients are
averaged, the same computation as on one device (tested on two virtual CPU
devices, `XLA_FLAGS=--xla_force_host_platform_device_count=2`).
"""

import argparse
import dataclasses
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time

import numpy as np

#: Recipes of the presets trained by this script. `epochs` is the budget of
#: the published preset (on the hardware its metadata names); the paper's
#: recipe is far longer (REFERENCE §4).
RECIPES = {
    "dvaepp_mnist_static": {
        "description": "Convolutional DVAE++ (RBM 8+8 global binary units, "
        "overlapping exponential β=10; 4 groups of 8×8×4 local Normal latents) "
        "on statically binarised MNIST.",
        "dataset": "mnist_static",
        "paper": {"setting": "DVAE++ Table 3, MNIST static", "test_ll": -79.17},
        "epochs": 21,
    },
    "dvaepp_mnist": {
        "description": "Convolutional DVAE++ on dynamically binarised MNIST.",
        "dataset": "mnist",
        "paper": {"setting": "DVAE++ Table 3, MNIST dynamic", "test_ll": -78.49},
        "epochs": 42,
    },
    "dvaepp_omniglot": {
        "description": "Convolutional DVAE++ on Omniglot (28×28 by area "
        "resize of the 105×105 originals, dynamic binarisation, this "
        "library's split: see the dataset notes).",
        "dataset": "omniglot",
        "paper": {"setting": "DVAE++ Table 3, Omniglot", "test_ll": -92.38},
        "epochs": 90,
    },
    "dvaepp_caltech101_silhouettes": {
        "description": "Convolutional DVAE++ on Caltech-101 Silhouettes 28×28.",
        "dataset": "caltech101_silhouettes",
        "paper": {"setting": "DVAE++ Table 3, Caltech-101", "test_ll": -81.88},
        "epochs": 100,
    },
    "dvaepp_cifar10": {
        "description": "Convolutional DVAE++ with a discretised logistic "
        "mixture on CIFAR-10, trained on the LOSSY JPEG copy (not comparable "
        "with published bits/dim).",
        "dataset": "cifar10",
        "paper": {"setting": "DVAE++ Table 3, CIFAR-10", "bits_per_dim": 3.38},
        "epochs": 5,
        "model_args": {
            "image_shape": [32, 32, 3],
            "output_distribution": "logistic_mixture",
            "filters": 32,
        },
        "eval_examples": 100,
    },
    "categorical_mnist": {
        "description": "Gumbel-softmax categorical VAE (30 latents × 10 "
        "categories, MLP 512-256 ReLU; τ annealed from 1 to 0.5) on "
        "dynamically binarised MNIST.",
        "dataset": "mnist",
        "model": "CategoricalVAE",
        "model_args": {
            "num_latents": 30,
            "num_categories": 10,
            "hidden_units": [512, 256],
        },
        "paper": None,
        "epochs": 160,
        "learning_rate": 1e-3,
        # KL warm-up is needed here: with the decoder bias started at the
        # data mean (`adapt`), a full-weight KL from step 0 collapses every
        # posterior to the uniform prior within the first epoch.
        "temperature_schedule": [1.0, 0.5],
        "schedule": "constant",
    },
}

#: Keys every recipe inherits (a recipe overrides a few).
BASE_RECIPE = {
    "model": "ConvDVAEPP",
    "model_args": {},
    "batch_size": 100,
    "learning_rate": 1e-3,
    "schedule": "reference",
    "kl_warmup": 0.3,
    "temperature_schedule": None,
    "eval_examples": 200,
    "eval_samples": 1000,
    "ci_examples": 50,
    "ci_samples": 100,
}

#: The convolutional presets' architecture, sized for a CPU budget.
CONV_ARGS = {
    "global_latents": 16,
    "global_groups": 2,
    "local_groups": 4,
    "local_channels": 4,
    "filters": 32,
    "global_units": 256,
    "num_chains": 100,
    "gibbs_sweeps": 10,
}


def recipe(name, **overrides):
    """The full recipe of preset `name` (unknown names and keys raise)."""
    if name not in RECIPES:
        raise ValueError(
            f"Unknown preset recipe {name!r}. Available: {sorted(RECIPES)}"
        )
    result = {**BASE_RECIPE, **RECIPES[name]}
    if result["model"] == "ConvDVAEPP":
        result["model_args"] = {**CONV_ARGS, **result["model_args"]}
    for key, value in overrides.items():
        if key not in result:
            raise ValueError(f"Unknown recipe key {key!r}. Known: {sorted(result)}")
        if value is not None:
            result[key] = value
    return result


def build_model(config, data, seed):
    from keras_dvae import models

    cls = getattr(models, config["model"])
    args = dict(config["model_args"])
    if config["model"] == "ConvDVAEPP":
        shape = tuple(data.image_shape) + ((1,) if len(data.image_shape) == 2 else ())
        args["image_shape"] = list(shape)
    else:
        args["input_dim"] = int(np.prod(data.image_shape))
    return cls(seed=seed, **args)


def _callbacks(model, config, steps, output_dir):
    import keras

    from keras_dvae import callbacks

    result = []
    if config["kl_warmup"]:
        result.append(
            callbacks.KLWarmup(steps=max(1, int(config["kl_warmup"] * steps)))
        )
    if config["temperature_schedule"]:
        start, end = config["temperature_schedule"]
        result.append(callbacks.TemperatureAnnealing(start, end, steps))
    if getattr(model, "_has_rbm_prior", lambda: False)():
        # Normalised training metrics: exact log Z every epoch (8 + 8 units).
        result.append(callbacks.LogPartitionUpdate(method="exact"))
    result += [
        keras.callbacks.BackupAndRestore(os.path.join(output_dir, "backup")),
        keras.callbacks.CSVLogger(os.path.join(output_dir, "history.csv"), append=True),
    ]
    return result


def _probe_rate(config, data, seed, steps=200, skip=40):
    """Training steps per second of `config` on this machine, measured on a
    throw-away copy of the model (the run itself then starts fresh); the
    first `skip` steps, which hold the compilation, are not timed."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        done = 0

        def on_train_batch_end(self, batch, logs=None):
            self.done += 1
            if self.done == skip:
                self.start = time.perf_counter()
            elif self.done == steps:
                self.rate = (steps - skip) / (time.perf_counter() - self.start)
                self.model.stop_training = True

    model = build_model(config, data, seed)
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]))
    timer = StepTimer()
    batches = data.train_batches(config["batch_size"], seed=seed + 1)
    epochs = math.ceil(steps / len(batches))
    model.fit(batches, epochs=epochs, callbacks=[timer], verbose=0)
    return timer.rate


def epochs_for_budget(config, data, seed, seconds, margin=0.85):
    """Epochs that fit in `seconds` of training at the probed speed (the
    schedule is fixed in steps, so the budget becomes an epoch count)."""
    rate = _probe_rate(config, data, seed)
    steps_per_epoch = len(data.x_train) // config["batch_size"]
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
    """Trains preset `name`; returns (model, config, data, train_seconds).

    Args:
        name: a key of `RECIPES`.
        data_dir: where the dataset files are (see `datasets.load`).
        output_dir: run folder (backup for resuming, history.csv).
        seed: seeds the model and the batch order.
        verbose: Keras `fit` verbosity.
        data: an already loaded `Dataset` (tests), else loaded from `data_dir`.
        time_budget: seconds of training; if given, the epoch count comes
            from a short speed probe (`epochs_for_budget`) instead of the
            recipe and is stored in the returned config.
        **overrides: recipe keys (`epochs`, `batch_size`, `model_args`, ...).
    """
    import keras

    from keras_dvae import callbacks, datasets

    config = recipe(name, **overrides)
    output_dir = output_dir or os.path.join("outputs", "zoo", name)
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    data = (
        data
        if data is not None
        else datasets.load(config["dataset"], data_dir=data_dir)
    )
    if time_budget is not None:
        config["epochs"], config["probed_steps_per_second"] = epochs_for_budget(
            config, data, seed, time_budget
        )
        # Forget the probe's model: the run gets the layer names (and the
        # random state) it would have had without the probe.
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed)
    model = build_model(config, data, seed)
    if hasattr(model, "adapt"):
        x_mean = data.x_train
        if data.dynamic_binarization:
            x_mean = datasets.sequences.binarize(x_mean, seed)
        model.adapt(x_mean)
    # Whole batches only: a data-parallel step splits each batch evenly
    # across devices (the presets' training sets divide by 100 anyway).
    usable = len(data.x_train) // config["batch_size"] * config["batch_size"]
    data = dataclasses.replace(data, x_train=data.x_train[:usable])
    batches = data.train_batches(config["batch_size"], seed=seed)
    steps = len(batches) * config["epochs"]
    rate = config["learning_rate"]
    if config["schedule"] == "reference":
        rate = callbacks.reference_learning_rate(steps, rate)
    model.compile(optimizer=keras.optimizers.Adam(rate, epsilon=1e-3))
    weights = os.path.join(output_dir, "model.weights.h5")
    start = time.time()
    model.fit(
        batches,
        epochs=config["epochs"],
        callbacks=_callbacks(model, config, steps, output_dir),
        verbose=verbose,
    )
    seconds = time.time() - start
    # BackupAndRestore deletes its backup when training ends: keep the result.
    model.save_weights(weights)
    with open(os.path.join(output_dir, "train_seconds.json"), "w") as f:
        json.dump({"train_seconds": seconds}, f)
    return model, config, data, seconds


def load_trained(name, output_dir, data_dir=None, seed=0, **overrides):
    """The model `train` left in `output_dir` (to evaluate or export again)."""
    import keras

    from keras_dvae import datasets

    config = recipe(name, **overrides)
    data = datasets.load(config["dataset"], data_dir=data_dir)
    model = build_model(config, data, seed)
    model.compile(optimizer=keras.optimizers.Adam())
    model.load_weights(os.path.join(output_dir, "model.weights.h5"))
    with open(os.path.join(output_dir, "train_seconds.json")) as f:
        seconds = json.load(f)["train_seconds"]
    return model, config, data, seconds


def _bits_per_dim(ll, dims):
    return float(-np.mean(ll) / (dims * math.log(2)))


def evaluate(model, config, data, data_dir=None, verbose=1):
    """Test metrics of a trained preset: a dict for its metadata."""
    n, k = config["eval_examples"], config["eval_samples"]
    # A fixed random subset: the test files are sorted by label.
    rows = np.sort(np.random.default_rng(0).permutation(len(data.x_test))[:n])
    x = data.x_test[rows]
    info = None
    if hasattr(model, "estimate_log_partition"):
        info = model.estimate_log_partition()
    start = time.time()
    ll = model.log_likelihood(x, num_samples=k, verbose=verbose)
    metrics = {
        "test_ll": {
            "mean": float(ll.mean()),
            "standard_error": float(ll.std(ddof=1) / np.sqrt(len(ll))),
            "num_samples": k,
            "num_examples": len(x),
            "examples": f"{len(x)} random test images "
            "(np.random.default_rng(0).permutation, first n, sorted)",
            "log_partition": info or {"method": "none (normalised prior)"},
            "seconds": round(time.time() - start, 1),
        }
    }
    dims = int(np.prod(data.image_shape))
    if not data.binary and not data.dynamic_binarization:
        metrics["test_ll"]["bits_per_dim"] = _bits_per_dim(ll, dims)
        from keras_dvae import datasets

        try:
            lossless = datasets.load(
                "cifar10", data_dir, download=False, variant="lossless_first4000"
            )
        except Exception as error:  # the lossless file is optional
            print(f"lossless CIFAR-10 images not available: {error}")
        else:
            rows = np.sort(np.random.default_rng(0).permutation(4000)[:n])
            ll_lossless = model.log_likelihood(
                lossless.x_train[rows], num_samples=k, verbose=verbose
            )
            metrics["lossless_train_ll"] = {
                "mean": float(ll_lossless.mean()),
                "bits_per_dim": _bits_per_dim(ll_lossless, dims),
                "num_samples": k,
                "num_examples": n,
                "examples": f"{n} random of the 4,000 lossless TRAINING images "
                "(not a test-set number)",
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
    if getattr(model, "log_partition_info", None):
        check["log_partition"] = (
            "exact"
            if model.log_partition_info["method"] == "exact"
            else model.log_partition_info["log_z"]
        )
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


def _command(name, args):
    parts = ["KERAS_BACKEND=jax", "python", "-m", "keras_dvae.zoo.train", name]
    if args.epochs is not None:
        parts += ["--epochs", str(args.epochs)]
    parts += ["--seed", str(args.seed), "--data-dir", "../shared/data"]
    return " ".join(shlex.quote(p) if " " in p else p for p in parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", help="preset to train (see --list)")
    parser.add_argument("--list", action="store_true", help="list the recipes")
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
        for key in sorted(RECIPES):
            print(f"{key:32s} {RECIPES[key]['description']}")
        return 0

    import keras

    from keras_dvae import cli, zoo

    if args.data_parallel:
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=devices)
        )
        print(f"data parallel over {len(devices)} device(s): {devices}")
    output_dir = args.output_dir or os.path.join("outputs", "zoo", args.name)
    if args.evaluate_only:
        model, config, data, seconds = load_trained(
            args.name, output_dir, args.data_dir, args.seed, epochs=args.epochs
        )
        steps = config["epochs"] * (len(data.x_train) // config["batch_size"])
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
        args.epochs = config["epochs"]
        steps = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    print(f"trained {steps} steps in {seconds:.0f} s ({steps / seconds:.2f} steps/s)")
    metrics = evaluate(model, config, data, args.data_dir, verbose=0)
    print(json.dumps(metrics, indent=2, default=float))
    check = ci_check(model, config, data)
    devices = keras.distribution.list_devices()
    metadata = {
        "dataset": config["dataset"],
        "description": config["description"],
        "paper": config["paper"],
        "metrics": metrics,
        "training": {
            "iterations": steps,
            "epochs": config["epochs"],
            "batch_size": config["batch_size"],
            "train_seconds": round(seconds, 1),
            "steps_per_second": round(steps / seconds, 2),
            "backend": keras.backend.backend(),
            "hardware": _hardware(devices),
            "budget": f"{config['epochs']} epochs on the hardware above"
            + (
                f" (the epochs that fit a {args.time_budget:.0f} s budget at the "
                f"probed {config['probed_steps_per_second']:.1f} steps/s)"
                if args.time_budget
                else ""
            )
            + "; the paper trains for about 10^6 iterations on GPUs",
            "command": _command(args.name, args),
        },
        "ci_check": check,
    }
    if data.lossy:
        metadata["lossy_data"] = (
            "Trained and tested on the lossy JPEG copy of CIFAR-10: bits/dim "
            "are NOT comparable with published numbers."
        )
    directory = args.export or os.path.join("zoo", args.name)
    zoo.export(model, directory, metadata, samples=cli.sample_grid(model, data))
    zoo.write_model_card(directory)
    with open(os.path.join(directory, "train.sh"), "w") as f:
        f.write("#!/usr/bin/env bash\n# Reproduces this preset.\n")
        f.write(_command(args.name, args) + "\n")
    print(f"wrote {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

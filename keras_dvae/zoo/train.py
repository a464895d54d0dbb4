"""Retrains a pretrained preset from its recipe, evaluates it and exports it.

    python -m keras_dvae.zoo.train dvaepp_small_mnist_static --data-dir ../shared/data
    python -m keras_dvae.zoo.train dvaepp_small_cifar10 --epochs 1 --export /tmp/x
    python -m keras_dvae.zoo.train dvaepp_2nl_mnist_static --continue --epochs 40
    python -m keras_dvae.zoo.train categorical_mnist --remeasure --eval-examples 0
    python -m keras_dvae.zoo.train --list
    python -m keras_dvae.zoo.train --table

NAME is the preset's recipe; `training.train` trains it in `--output-dir`
(rerun to resume) and `exporting.export_preset` writes the folder.
`--continue` trains the committed preset further: its weights (PCD chains
included) and recorded step are the start, the schedules resume at that
step over the cumulative length, Adam starts afresh, and the folder's
metadata gains the stage (`exporting.export_preset`).
`--restart-learning-rate` (with `--continue`) lays the reference learning
rate over the new stage alone instead: a warm restart that spends most of
the stage at the base rate and ends annealed (`training.compile_model`).
`--remeasure` evaluates the committed weights again (say on the whole
test set, `--eval-examples 0 --eval-samples 4000`) and records the figure
in place of the exported one, training nothing (`exporting.remeasure`).
`--data-parallel` (JAX) splits each batch over every visible device with
`keras.distribution.DataParallel`, the same computation as on one device
(tested with `XLA_FLAGS=--xla_force_host_platform_device_count=2`).
"""

import argparse
import json
import os
import sys

import keras
import numpy as np

from keras_dvae import datasets, recipes, training
from keras_dvae.utils import files
from keras_dvae.zoo import exporting, loading


def _lossless_train_ll(run, data_dir):
    """For 8-bit data, the log-likelihood of the lossless CIFAR-10 training
    images if their file is found, else None."""
    if run.data.binary or run.data.dynamic_binarization:
        return None
    try:
        lossless = datasets.load(
            "cifar10", data_dir, download=False, variant="lossless_first4000"
        )
    except Exception as error:  # the lossless file is optional
        print(f"lossless CIFAR-10 images not available: {error}")
        return None
    k, n = run.recipe["eval_samples"], run.recipe["eval_examples"]
    rows = training.evaluation_rows(len(lossless.x_train), n)
    ll = run.model.log_likelihood(lossless.x_train[rows], num_samples=k)
    return {
        "mean": float(ll.mean()),
        "bits_per_dim": float(training.bits_per_dim(np.mean(ll), run.data.image_shape)),
        "num_samples": k,
        "num_examples": len(rows),
        "examples": f"{len(rows)} random of the 4,000 lossless TRAINING "
        "images (not a test-set number)",
    }


def _examples(value):
    """--eval-examples: None (the recipe's), 0 → every test row, else N."""
    return 10**9 if value == 0 else value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", help="recipe to train (see --list)")
    parser.add_argument(
        "--list", action="store_true", help="list the recipes (* = pretrained)"
    )
    parser.add_argument(
        "--table", action="store_true", help="print the zoo's results table"
    )
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", help="the run (default outputs/zoo/NAME)")
    parser.add_argument("--export", help="preset folder to write (default zoo/NAME)")
    parser.add_argument(
        "--time-budget",
        type=float,
        help="seconds of training: the epochs come from a speed probe "
        "(train.sh records the resulting --epochs)",
    )
    parser.add_argument(
        "--continue",
        dest="continue_preset",
        action="store_true",
        help="continue the preset folder (--export, default zoo/NAME) from its "
        "weights and recorded step for --epochs more (or --time-budget), and "
        "add the stage to its metadata",
    )
    parser.add_argument(
        "--restart-learning-rate",
        action="store_true",
        help="with --continue: lay the reference learning rate over this stage "
        "alone (a warm restart), not over the cumulative steps",
    )
    parser.add_argument(
        "--eval-examples",
        type=int,
        help="test rows to evaluate (0: the whole test set; default: the recipe's)",
    )
    parser.add_argument(
        "--eval-samples", type=int, help="importance samples K (default: the recipe's)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="retrain a finished run in --output-dir instead of exporting it",
    )
    parser.add_argument(
        "--no-selection",
        action="store_true",
        help="keep the last epoch's weights, not the best validation epoch's "
        "(the recipes with `selection`; the presets exported before it); "
        "with --evaluate-only: export a finished run's last epoch",
    )
    parser.add_argument("--data-parallel", action="store_true")
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="evaluate and export the weights a finished run left in --output-dir",
    )
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="evaluate the preset folder's weights again (--eval-examples, "
        "--eval-samples) and record the figure, training nothing",
    )
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args(argv)
    if args.table:
        print(exporting.zoo_table())
        return 0
    if args.list or not args.name:
        pretrained = set(loading.list_presets())
        for key in recipes.list_recipes():
            mark = "*" if key in pretrained else " "
            print(f"{mark} {key:36s} {recipes.get(key)['description']}")
        return 0
    if args.data_parallel:
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=devices)
        )
        print(f"data parallel over {len(devices)} device(s): {devices}")
    if args.restart_learning_rate and not args.continue_preset:
        raise ValueError(
            "--restart-learning-rate restarts a continued preset's schedule: "
            "it needs --continue."
        )
    directory = args.export or os.path.join("zoo", args.name)
    if args.remeasure:
        return _remeasure(args, directory)
    start = {}
    if args.continue_preset:
        start = exporting.continuation(directory)
        print(f"continuing {directory} from step {start['initial_step']}")
        if args.restart_learning_rate:
            start["restart_learning_rate"] = True
    stage = f"-from-{start['initial_step']}" if start else ""
    stage += "-restart" if args.restart_learning_rate else ""
    output_dir = args.output_dir or os.path.join("outputs", "zoo", args.name + stage)
    if args.evaluate_only:
        run = training.load_run(output_dir, args.data_dir, last_epoch=args.no_selection)
        run.metrics["evaluation"] = training.evaluate(
            run.model,
            run.data,
            run.recipe,
            examples=_examples(args.eval_examples),
            num_samples=args.eval_samples,
        )
    else:
        run = training.train(
            args.name,
            data_dir=args.data_dir,
            output_dir=output_dir,
            epochs=args.epochs,
            seed=args.seed,
            verbose=args.verbose,
            time_budget=args.time_budget,
            overwrite=args.overwrite,
            examples=_examples(args.eval_examples),
            num_samples=args.eval_samples,
            **({"selection": None} if args.no_selection else {}),
            **start,
        )
    metrics = run.metrics["evaluation"]
    lossless = _lossless_train_ll(run, args.data_dir)
    if lossless:
        metrics["lossless_train_ll"] = lossless
    print(f"trained {run.steps} steps in {run.metrics['train_seconds']:.0f} s")
    # Strict JSON (a NaN shows as null, listed under "non_finite"); the
    # export below refuses such a preset, naming the key.
    print(json.dumps(files.to_strict_json(metrics, non_finite="null"), indent=2))
    exporting.export_preset(run, directory)
    print(f"wrote {directory}")
    return 0


def _remeasure(args, directory):
    """--remeasure: `exporting.remeasure` of the folder, refusing training flags."""
    training_flags = {
        "--epochs": args.epochs,
        "--time-budget": args.time_budget,
        "--continue": args.continue_preset,
        "--restart-learning-rate": args.restart_learning_rate,
        "--evaluate-only": args.evaluate_only,
        "--overwrite": args.overwrite,
        "--output-dir": args.output_dir,
    }
    given = [f"{k} {v!r}" for k, v in training_flags.items() if v not in (None, False)]
    if given:
        raise ValueError(
            "--remeasure evaluates a preset's weights and trains nothing: it "
            f"takes no training flags. Received: {', '.join(given)}"
        )
    metadata = exporting.remeasure(
        args.name,
        directory,
        data_dir=args.data_dir,
        examples=_examples(args.eval_examples),
        num_samples=args.eval_samples,
        verbose=min(args.verbose, 1),
    )
    metrics = files.to_strict_json(metadata["metrics"], non_finite="null")
    print(json.dumps(metrics, indent=2))
    print(f"remeasured {directory}")
    return 0


def command_line(argv=None):
    """`main` as a command: bad input the library refuses (a ValueError,
    FileNotFoundError or FloatingPointError naming it) is one line on
    stderr and exit status 2, as `keras-dvae` does, not a traceback."""
    try:
        return main(argv)
    except (ValueError, FileNotFoundError, FloatingPointError) as error:
        print(f"python -m keras_dvae.zoo.train: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(command_line())

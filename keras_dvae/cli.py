"""The `keras-dvae` command line.

keras-dvae train [RECIPE]  train a recipe (default digits_dvaepp), write
                           weights, metrics and a PNG; rerun to resume
keras-dvae evaluate        importance-weighted log-likelihood of a trained model
keras-dvae sample          a PNG of prior samples and reconstructions
keras-dvae recipes         list the training recipes (keras_dvae.recipes)
keras-dvae presets         list the pretrained presets (keras_dvae.zoo)

A preset's recipe has its name; `python -m keras_dvae.zoo.train NAME`
retrains and exports it.
"""

import argparse
import json
import math
import os
import sys


def _print_metrics(metrics):
    for key, value in metrics.items():
        if key != "evaluation":
            print(f"  {key}: {value}")


def train(args):
    from keras_dvae import training

    overrides = {
        key: getattr(args, key)
        for key in ("dataset", "batch_size", "learning_rate")
        if getattr(args, key) is not None
    }
    if args.model_args:
        overrides["model_args"] = args.model_args
    if args.no_selection:
        overrides["selection"] = None
    run = training.train(
        args.recipe_option or args.recipe,
        data_dir=args.data_dir,
        output_dir=args.output_dir,
        epochs=args.epochs,
        seed=args.seed,
        verbose=2 if args.verbose else 0,
        progress=True,
        examples=args.examples,
        num_samples=args.num_samples,
        overwrite=args.overwrite,
        **overrides,
    )
    _print_metrics(run.metrics)
    png = os.path.join(args.output_dir, training.SAMPLES_FILE)
    done = "Kept" if run.reused else "Wrote"
    print(f"{done} {png} (rows: prior samples, test images, reconstructions)")
    return 0


def evaluate(args):
    from keras_dvae import training
    from keras_dvae.utils import files

    overrides = {"dataset": args.dataset} if args.dataset else {}
    run = training.load_run(args.model_dir, args.data_dir, **overrides)
    details = training.evaluate(
        run.model,
        run.data,
        run.recipe,
        examples=args.examples,
        num_samples=args.num_samples,
        verbose=1,
    )
    metrics = training.summary(details)
    path = os.path.join(args.model_dir, "evaluation.json")
    files.write_json(path, {"dataset": run.data.name, **metrics, "evaluation": details})
    _print_metrics(metrics)
    print(f"Wrote {path}")
    return 0


def sample(args):
    from keras_dvae import training
    from keras_dvae.utils import images

    run = training.load_run(args.model_dir, args.data_dir)
    path = args.output
    if path is None:  # the next free samples-N.png: the run's own PNG stays
        n = 1
        while os.path.exists(os.path.join(args.model_dir, f"samples-{n}.png")):
            n += 1
        path = os.path.join(args.model_dir, f"samples-{n}.png")
    images.write_png(images.sample_grid(run.model, run.data, n=args.num), path)
    print(f"Wrote {path} (rows: prior samples, test images, reconstructions)")
    return 0


def _row(name, model, dataset, rest):
    print(f"{name:36s} {model:14s} {dataset:23s} {rest}")


def list_recipes(args):
    from keras_dvae import recipes, zoo

    pretrained = set(zoo.list_presets())
    _row("recipe", "model", "dataset", "epochs  pretrained")
    for name in recipes.list_recipes():
        recipe = recipes.get(name)
        mark = "yes" if name in pretrained else "-"
        _row(name, recipe["model"], recipe["dataset"], f"{recipe['epochs']:6d}  {mark}")
    return 0


def list_presets(args):
    from keras_dvae import zoo

    _row("preset", "model", "dataset", "measured (test)       steps  paper")
    for name in zoo.list_presets():
        meta = zoo.get_metadata(name)
        metrics = meta.get("metrics", {})
        m = metrics.get("test_ll") or metrics.get("test_ll_subset") or {}
        measured = "-"
        if "bits_per_dim" in m:
            measured = f"{m['bits_per_dim']:.3f} bits/dim"
        elif "mean" in m:
            measured = f"{m['mean']:.2f} nats"
        paper = meta.get("paper") or {}
        reference = paper.get("test_ll", paper.get("bits_per_dim", "-"))
        steps = meta.get("training", {}).get("iterations", 0)
        rest = f"{measured:15s} {steps:>11,}  {reference}"
        _row(name, meta.get("class", "?"), meta.get("dataset", "?"), rest)
    print("\nTraining recipes (these and more): keras-dvae recipes")
    return 0


class _Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line, as the library's are
    (`main`): "keras-dvae train: error: ...", exit status 2, no usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(minimum):
    """An argparse type: an integer >= `minimum`."""

    def count(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be an integer >= {minimum}. Received: {text!r}"
            )
        return value

    return count


def _positive_float(text):
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            f"must be a finite number > 0. Received: {text!r}"
        )
    return value


def _json_object(text):
    """An argparse type: a JSON object, as a dict."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"must be a JSON object such as '{{\"num_latents\": 16}}' ({error}). "
            f"Received: {text!r}"
        ) from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f"must be a JSON object such as '{{\"num_latents\": 16}}'. "
            f"Received: {text!r}"
        )
    return value


class _DefaultsShown(argparse.HelpFormatter):
    """Help that shows an option's default, unless it is None or a flag's False."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        hidden = default is None or default is False or default == argparse.SUPPRESS
        if not hidden and "(default" not in text:
            text += f" (default: {default})"
        return text


def main(argv=None):
    parser = _Parser(
        prog="keras-dvae",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = _DefaultsShown
    t = sub.add_parser(
        "train", help="train a recipe (default digits_dvaepp)", formatter_class=defaults
    )
    t.add_argument(
        "recipe", nargs="?", default="digits_dvaepp", help="see `keras-dvae recipes`"
    )
    t.add_argument(
        "--recipe",
        "--preset",
        dest="recipe_option",
        help="the recipe, as a flag (--preset: the same, for a preset's name)",
    )
    t.add_argument("--dataset", help="override the recipe's dataset")
    positive = _count(1)
    t.add_argument("--epochs", type=positive, help="override the recipe's epochs")
    t.add_argument(
        "--batch-size", type=positive, help="override the recipe's batch size"
    )
    t.add_argument(
        "--learning-rate",
        type=_positive_float,
        help="override the recipe's base learning rate",
    )
    t.add_argument(
        "--model-args",
        type=_json_object,
        help="JSON dict merged into the model arguments",
    )
    t.add_argument(
        "--num-samples",
        type=positive,
        help="importance samples K (default: the recipe's)",
    )
    t.add_argument(
        "--examples",
        type=positive,
        help="evaluate on N test rows (default: the recipe's)",
    )
    t.add_argument(
        "--no-selection",
        action="store_true",
        help="keep the last epoch's weights, not the best validation epoch's "
        "(recipes with `selection`)",
    )
    t.add_argument("--output-dir", default="outputs/digits", help="the run folder")
    t.add_argument(
        "--data-dir", help="directory holding the dataset files (default: searched)"
    )
    t.add_argument(
        "--seed",
        type=_count(0),
        default=0,
        help="seeds the model, batches, binarisation",
    )
    t.add_argument("--verbose", action="store_true", help="a line per epoch")
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a finished run in --output-dir (else a rerun of the same "
        "run prints its results, and another run there is refused)",
    )
    e = sub.add_parser(
        "evaluate", help="log-likelihood of a trained model", formatter_class=defaults
    )
    e.add_argument("--model-dir", default="outputs/digits", help="a `train` run folder")
    e.add_argument("--dataset", help="evaluate on another dataset of the same shape")
    e.add_argument(
        "--num-samples", type=positive, default=4000, help="importance samples K"
    )
    e.add_argument(
        "--examples",
        type=positive,
        help="evaluate on N test rows (default: the recipe's)",
    )
    e.add_argument("--data-dir", help="directory holding the dataset files")
    s = sub.add_parser(
        "sample",
        help="PNG of prior samples and reconstructions",
        formatter_class=defaults,
    )
    s.add_argument("--model-dir", default="outputs/digits", help="a `train` run folder")
    s.add_argument("--num", type=positive, default=16, help="images per row")
    s.add_argument("--output", help="PNG path (default MODEL_DIR/samples-N.png)")
    s.add_argument("--data-dir", help="directory holding the dataset files")
    s.add_argument("--seed", type=_count(0), default=0, help=argparse.SUPPRESS)
    sub.add_parser("recipes", help="list the training recipes")
    sub.add_parser("presets", help="list the pretrained presets (zoo)")
    args = parser.parse_args(argv)
    import keras_dvae

    keras_dvae.import_all()  # deferred by the console script (`--help`)
    commands = {"train": train, "evaluate": evaluate, "sample": sample}
    commands.update(recipes=list_recipes, presets=list_presets)
    try:
        return commands[args.command](args)
    except (ValueError, FileNotFoundError, FloatingPointError) as error:
        # Bad input the library refused with its message: one line, no
        # traceback, argparse's exit status.
        print(f"keras-dvae {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

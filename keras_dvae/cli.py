"""The `keras-dvae` command line.

keras-dvae train     train a preset (default: DVAE++ on the embedded digits),
                     print metrics, write weights, metrics.json and a PNG;
                     rerun with the same --output-dir to resume
keras-dvae evaluate  importance-weighted log-likelihood of a trained model
keras-dvae sample    a PNG of prior samples and reconstructions
keras-dvae presets   list the training presets
"""

import argparse
import json
import os
import sys
import time

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
# Largest RBM side whose log Z the CLI enumerates after every epoch.
EXACT_LOG_Z = 16


# --------------------------------------------------------------- pictures


def grid_image(rows, image_shape, scale=None):
    """Rows of images (each a list of flat arrays in [0, 1]) as one uint8 image.

    Ink (1) is drawn black on white (colour images, image_shape (H, W, 3),
    as they are), one pixel of padding between images,
    each pixel repeated `scale` times (default: about 128 pixels an image).
    """
    import numpy as np

    height, width = image_shape[:2]
    colour = len(image_shape) == 3 and image_shape[2] == 3
    shape = (height, width, 3) if colour else (height, width)
    pad = 1
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    canvas = np.ones(
        (n_rows * (height + pad) + pad, n_cols * (width + pad) + pad, *shape[2:])
    )
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            top, left = pad + i * (height + pad), pad + j * (width + pad)
            image = np.reshape(image, shape)
            canvas[top : top + height, left : left + width] = (
                image if colour else 1.0 - image
            )
    scale = scale or max(1, 256 // max(height, width) // 2)
    image = (np.clip(canvas, 0, 1) * 255).astype("uint8")
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def grid_png(rows, path, image_shape, scale=None):
    """Writes `grid_image(rows, image_shape, scale)` as a PNG."""
    from PIL import Image

    Image.fromarray(grid_image(rows, image_shape, scale)).save(path)


# ---------------------------------------------------------------- helpers


def _model_class(name):
    from keras_dvae import models

    if not hasattr(models, name):
        raise SystemExit(f"error: unknown model class {name!r}")
    return getattr(models, name)


def _load_dataset(name, data_dir):
    from keras_dvae import datasets

    data = datasets.load(name, data_dir=data_dir)
    if data.x_train.ndim != 2:
        raise SystemExit(
            f"error: {name} holds {data.x_train.shape[1:]} images; the models of "
            "this release have a Bernoulli decoder over flat binary pixels."
        )
    return data


def _write_json(path, payload):
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=float)


def load_trained(model_dir):
    """Rebuilds a model written by `keras-dvae train` from its directory."""
    import keras

    with open(os.path.join(model_dir, CONFIG_FILE)) as f:
        saved = json.load(f)
    model = keras.saving.deserialize_keras_object(saved["model"])
    model.load_weights(os.path.join(model_dir, WEIGHTS_FILE))
    return model, saved


def _epoch_progress(epochs):
    """A progress bar over epochs (a keras Progbar) showing elbo and kl."""
    import keras

    bar = keras.utils.Progbar(epochs, unit_name="epoch")

    def update(epoch, logs):
        values = [(k, float(v)) for k, v in (logs or {}).items() if k in ("elbo", "kl")]
        bar.update(epoch + 1, values=values, finalize=epoch + 1 == epochs)

    return keras.callbacks.LambdaCallback(on_epoch_end=update)


def _callbacks(model, config, steps, output_dir, verbose):
    import keras

    from keras_dvae import callbacks

    result = []
    if config["kl_warmup"]:
        result.append(
            callbacks.KLWarmup(steps=max(1, int(config["kl_warmup"] * steps)))
        )
    if config["beta_schedule"]:
        start, end = config["beta_schedule"]
        result.append(callbacks.BetaAnnealing(start, end, steps))
    if config["temperature_schedule"]:
        start, end = config["temperature_schedule"]
        result.append(callbacks.TemperatureAnnealing(start, end, steps))
    result += [
        # Weights, optimizer state, PCD chains and the epoch: a rerun resumes.
        keras.callbacks.BackupAndRestore(os.path.join(output_dir, "backup")),
        keras.callbacks.CSVLogger(os.path.join(output_dir, "history.csv"), append=True),
    ]
    if getattr(model, "num_latents", 0) // 2 <= EXACT_LOG_Z and hasattr(
        model, "estimate_log_partition"
    ):
        # Normalised training metrics: exact log Z each epoch (cheap).
        result.append(callbacks.LogPartitionUpdate(method="exact"))
    if not verbose:
        result.append(_epoch_progress(config["epochs"]))
    return result


# --------------------------------------------------------------- commands


def train(args):
    import keras
    import numpy as np

    from keras_dvae import callbacks, presets

    overrides = {
        key: getattr(args, key)
        for key in ("dataset", "epochs", "batch_size", "learning_rate", "num_samples")
        if getattr(args, key) is not None
    }
    if args.model_args:
        overrides["model_args"] = json.loads(args.model_args)
    config = presets.get(args.preset, **overrides)
    keras.utils.set_random_seed(args.seed)
    data = _load_dataset(config["dataset"], args.data_dir)
    cls = _model_class(config["model"])
    model = cls(input_dim=data.x_train.shape[1], seed=args.seed, **config["model_args"])
    x_train = data.x_train
    if data.dynamic_binarization:
        fit_data = data.train_batches(config["batch_size"], seed=args.seed)
        mean_data = (np.random.default_rng(0).random(x_train.shape) < x_train).astype(
            "float32"
        )
    else:
        fit_data, mean_data = x_train, x_train
    model.adapt(mean_data)
    steps_per_epoch = int(np.ceil(len(x_train) / config["batch_size"]))
    steps = config["epochs"] * steps_per_epoch
    model.compile(
        optimizer=keras.optimizers.Adam(
            callbacks.reference_learning_rate(steps, config["learning_rate"]),
            epsilon=1e-3,
        )
    )
    os.makedirs(args.output_dir, exist_ok=True)
    _write_json(
        os.path.join(args.output_dir, CONFIG_FILE),
        {
            "preset": args.preset,
            "training": config,
            "model": keras.saving.serialize_keras_object(model),
        },
    )
    resuming = os.path.isdir(os.path.join(args.output_dir, "backup"))
    print(
        f"{'Resuming' if resuming else 'Training'} {config['model']} "
        f"(preset {args.preset}) on {data.name}: {len(x_train)} train / "
        f"{len(data.x_test)} test, {config['epochs']} epochs × {steps_per_epoch} "
        f"steps, backend {keras.backend.backend()}"
    )
    start = time.time()
    fit_kwargs = (
        {} if data.dynamic_binarization else {"batch_size": config["batch_size"]}
    )
    model.fit(
        fit_data,
        epochs=config["epochs"],
        shuffle=True,
        verbose=2 if args.verbose else 0,
        callbacks=_callbacks(model, config, steps, args.output_dir, args.verbose),
        **fit_kwargs,
    )
    seconds = time.time() - start
    model.save_weights(os.path.join(args.output_dir, WEIGHTS_FILE))
    metrics = {
        "dataset": data.name,
        "model": config["model"],
        "preset": args.preset,
        "epochs": config["epochs"],
        "steps": steps,
        "train_seconds": round(seconds, 1),
        "backend": keras.backend.backend(),
        **_evaluate(model, data, config["num_samples"], args.examples, verbose=0),
    }
    _write_json(os.path.join(args.output_dir, "metrics.json"), metrics)
    png = os.path.join(args.output_dir, "samples.png")
    _samples_png(model, data, png, args.seed)
    for key, value in metrics.items():
        print(f"  {key}: {value}")
    print(f"Wrote {png} (rows: prior samples, test images, reconstructions)")
    return 0


def _evaluate(model, data, num_samples, examples, verbose):
    from keras_dvae import evaluation

    x = data.x_test if examples is None else data.x_test[:examples]
    report = evaluation.log_likelihood_report(
        model, x, num_samples=num_samples, verbose=verbose
    )
    elbo = model.evaluate(x, batch_size=1000, verbose=0, return_dict=True)["elbo"]
    result = {
        "test_examples": report.num_examples,
        "test_elbo_discrete": round(float(elbo), 3),
        "test_log_likelihood": round(report.mean, 3),
        "test_log_likelihood_standard_error": round(report.standard_error, 3),
        "num_importance_samples": num_samples,
    }
    if report.log_partition is not None:
        result["log_partition"] = report.log_partition
    return result


def sample_grid(model, data, n=16):
    """A uint8 image: rows of prior samples, test images, reconstructions."""
    import keras
    import numpy as np

    # Evenly spaced rows: some test sets are sorted by label.
    x = data.x_test[np.linspace(0, len(data.x_test) - 1, n).astype(int)]
    samples = keras.ops.convert_to_numpy(model.generate(n))
    recon = keras.ops.convert_to_numpy(model.reconstruct(x))
    # 8-bit images (CIFAR-10) are drawn as values in [0, 1].
    shown = x / 255.0 if x.dtype == np.uint8 else x
    return grid_image([list(samples), list(shown), list(recon)], data.image_shape)


def _samples_png(model, data, path, seed, n=16):
    from PIL import Image

    Image.fromarray(sample_grid(model, data, n)).save(path)


def evaluate(args):
    model, saved = load_trained(args.model_dir)
    dataset = args.dataset or saved["training"]["dataset"]
    data = _load_dataset(dataset, args.data_dir)
    metrics = _evaluate(model, data, args.num_samples, args.examples, verbose=1)
    path = os.path.join(args.model_dir, "evaluation.json")
    _write_json(path, {"dataset": dataset, **metrics})
    for key, value in metrics.items():
        print(f"  {key}: {value}")
    print(f"Wrote {path}")
    return 0


def sample(args):
    model, saved = load_trained(args.model_dir)
    data = _load_dataset(saved["training"]["dataset"], args.data_dir)
    path = args.output or os.path.join(args.model_dir, "samples.png")
    _samples_png(model, data, path, args.seed, n=args.num)
    print(f"Wrote {path} (rows: prior samples, test images, reconstructions)")
    return 0


def list_presets(args):
    from keras_dvae import presets

    for name in presets.names():
        config = presets.get(name)
        print(
            f"{name:22s} {config['model']:15s} {config['dataset']:14s} "
            f"{config['description']}"
        )
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="keras-dvae",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a preset (default digits_dvaepp)")
    t.add_argument("--preset", default="digits_dvaepp")
    t.add_argument("--dataset", help="override the preset's dataset")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--learning-rate", type=float)
    t.add_argument("--model-args", help="JSON dict merged into the model arguments")
    t.add_argument("--num-samples", type=int, help="importance samples K")
    t.add_argument("--examples", type=int, help="evaluate on the first N test rows")
    t.add_argument("--output-dir", default="outputs/digits")
    t.add_argument("--data-dir", help="directory holding the dataset files")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--verbose", action="store_true", help="a line per epoch")
    t.set_defaults(run=train)
    e = sub.add_parser("evaluate", help="log-likelihood of a trained model")
    e.add_argument("--model-dir", default="outputs/digits")
    e.add_argument("--dataset")
    e.add_argument("--num-samples", type=int, default=4000)
    e.add_argument("--examples", type=int)
    e.add_argument("--data-dir")
    e.set_defaults(run=evaluate)
    s = sub.add_parser("sample", help="PNG of prior samples and reconstructions")
    s.add_argument("--model-dir", default="outputs/digits")
    s.add_argument("--num", type=int, default=16)
    s.add_argument("--output")
    s.add_argument("--data-dir")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(run=sample)
    p = sub.add_parser("presets", help="list the training presets")
    p.set_defaults(run=list_presets)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

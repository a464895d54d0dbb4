"""Every categorical gradient estimator on the tutorial's configuration.

    KERAS_BACKEND=jax python -m benchmarks.estimators --data-dir ../shared/data

The configuration of Jeffares & Liu's tutorial: 4 latents × 8 categories,
784-512-256 ReLU, Adam 5e-4, batch 100, dynamically binarised MNIST (the
50,000 training images), each estimator at its defaults, trained with
plain `compile(); fit()` (no `adapt` call: `fit` adapts). For every
estimator and seed it records

- the test ELBO after every epoch (all 10,000 test images, one discrete
  sample each: `fit`'s validation) and the training wall time to there;
- collapse: the mutual information I(x; z) = Σ_l H(E_x q_l) − E_x H(q_l)
  of the encoder on 1,000 test images; a run is "collapsed" when it is
  below 0.5 nats (every input gets the same code distribution: either one
  code for all inputs or the uniform prior; a trained model has 5–8);
- for the first seed, the variance of the gradient estimate at the
  checkpoints: `--variance-samples` gradients of the training loss on one
  fixed batch of 100 test images, per parameter block (the encoder's
  first and logit layers' kernels, the decoder's output kernel), the mean
  over the block's entries of their variance across the draws, and the
  signal-to-noise ratio ‖mean‖² / Σ variance.

Results go to `--out` (JSON, rerun to resume: finished runs are kept) and
the figure of test ELBO against training time to `--plot` (PNG). Needs
the JAX backend for the variance part (`jax.grad` of the stateless loss).
`--no-adapt` trains without adapting (the collapse this file documents);
`--adapt-only bias|centre` adapts one half (which half prevents it).
"""

import argparse
import json
import os
import platform
import time

import keras
import numpy as np

from benchmarks.default_training import mutual_information as information
from keras_dvae import datasets
from keras_dvae.models import CategoricalVAE

ESTIMATORS = (
    "gumbel_softmax",
    "straight_through",
    "score_function",
    "disarm",
    "rebar",
    "relax",
    "vimco",
)
CONFIG = {
    "num_latents": 4,
    "num_categories": 8,
    "hidden_units": (512, 256),
    "activation": "relu",
}
LEARNING_RATE, BATCH_SIZE = 5e-4, 100
COLLAPSE_NATS = 0.5


def mutual_information(model, x):
    """Σ over latents of I(x; z_l) under the encoder, in nats."""
    _, probs = model.encode(x)
    return information(probs, CONFIG["num_categories"])


def gradient_variance(model, batch, samples):
    """{block: (mean variance, squared norm of the mean)} over `samples` draws."""
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    metrics = [v.value for v in model.metrics_variables]
    seeds = [
        i
        for i, v in enumerate(model.non_trainable_variables)
        if v.path.endswith("seed_generator_state")
    ]

    def loss(weights, state, x):
        y_pred, state = model.stateless_call(weights, state, x, training=True)
        value, _ = model.stateless_compute_loss(
            weights, state, metrics, x=x, y_pred=y_pred, training=True
        )
        return value

    gradient = jax.jit(jax.grad(loss))
    paths = [v.path for v in model.trainable_variables]
    blocks = {
        "encoder first kernel": _first(paths, "encoder/", "kernel"),
        "encoder logits kernel": _last(paths, "encoder/", "kernel"),
        "decoder output kernel": _last(paths, "decoder/", "kernel"),
    }
    draws = {name: [] for name in blocks}
    rng = np.random.default_rng(0)
    for _ in range(samples):
        state = list(non_trainable)
        for i in seeds:
            state[i] = rng.integers(0, 2**31, size=(2,)).astype(state[i].dtype)
        grads = gradient(trainable, state, batch)
        for name, index in blocks.items():
            draws[name].append(np.asarray(grads[index], "float64").ravel())
    result = {}
    for name, rows in draws.items():
        rows = np.stack(rows)
        variance = rows.var(0, ddof=1)
        result[name] = {
            "variance": float(variance.mean()),
            "snr": float(np.sum(rows.mean(0) ** 2) / max(variance.sum(), 1e-30)),
        }
    return result


def _first(paths, prefix, suffix):
    return next(i for i, p in enumerate(paths) if prefix in p and p.endswith(suffix))


def _last(paths, prefix, suffix):
    return max(i for i, p in enumerate(paths) if prefix in p and p.endswith(suffix))


class _Clock(keras.callbacks.Callback):
    """Training seconds per epoch, validation excluded."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def run(name, seed, data, args):
    keras.utils.set_random_seed(seed)
    model = CategoricalVAE(estimator=name, seed=seed, **CONFIG)
    model.compile(keras.optimizers.Adam(LEARNING_RATE))
    batches = data.train_batches(BATCH_SIZE, seed=seed)
    probe = data.x_test[:1000]
    if args.adapt_only:  # the ablation: one half of what `adapt` sets
        model.adapt(datasets.binarize(data.x_train[:10_000], seed))
        keep = {"bias": model.decoder.output_bias, "centre": model.encoder.input_mean}
        for part, variable in keep.items():
            if part != args.adapt_only:
                variable.assign(np.zeros(variable.shape, "float32"))
    variance = {}
    if seed == args.seeds[0] and args.variance_samples:
        variance[0] = gradient_variance(model, data.x_test[:100], args.variance_samples)
    clock = _Clock()
    elbo, seconds, mi = [], [], []
    for epoch in range(1, args.epochs + 1):
        history = model.fit(
            batches,
            initial_epoch=epoch - 1,
            epochs=epoch,
            validation_data=(data.x_test,),
            validation_batch_size=1000,
            callbacks=[clock],
            verbose=0,
            adapt=not (args.no_adapt or args.adapt_only),
        ).history
        elbo.append(float(history["val_elbo"][-1]))
        seconds.append(float(sum(clock.seconds)))
        mi.append(mutual_information(model, probe))
        if (
            seed == args.seeds[0]
            and args.variance_samples
            and epoch in (1, args.epochs)
        ):
            variance[epoch] = gradient_variance(
                model, data.x_test[:100], args.variance_samples
            )
        print(
            f"{name:16s} seed {seed} epoch {epoch}: test ELBO {elbo[-1]:8.2f}, "
            f"I(x;z) {mi[-1]:.2f} nats, {seconds[-1]:6.1f} s",
            flush=True,
        )
    steps = len(batches) * args.epochs
    return {
        "test_elbo": elbo,
        "train_seconds": seconds,
        "mutual_information": mi,
        "collapsed": mi[-1] < COLLAPSE_NATS,
        "steps_per_second": steps / seconds[-1],
        "gradient_variance": variance,
    }


def summary(results, epochs):
    lines = [
        "| estimator | test ELBO after "
        f"{epochs} epochs (mean ± sd) | collapsed | I(x;z) nats | steps/s (median) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, runs in results.items():
        finished = [r for r in runs.values() if len(r["test_elbo"]) == epochs]
        if not finished:
            continue
        final = np.array([r["test_elbo"][-1] for r in finished])
        collapsed = sum(r["collapsed"] for r in finished)
        mi = np.array([r["mutual_information"][-1] for r in finished])
        speed = np.median([r["steps_per_second"] for r in finished])
        spread = final.std(ddof=1) if len(final) > 1 else 0.0
        lines.append(
            f"| {name} | {final.mean():.2f} ± {spread:.2f} "
            f"({len(final)} seeds) | {collapsed} of {len(final)} | "
            f"{mi.min():.2f}–{mi.max():.2f} | {speed:.1f} |"
        )
    return "\n".join(lines)


def variance_table(results):
    lines = [
        "| estimator | epoch | encoder first kernel | encoder logits kernel "
        "| decoder output kernel |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, runs in results.items():
        first = runs[min(runs, key=int)] if runs else None
        if not first:
            continue
        for epoch, blocks in sorted(
            first["gradient_variance"].items(), key=lambda i: int(i[0])
        ):
            cells = [
                f"{b['variance']:.2e} (SNR {b['snr']:.3g})" for b in blocks.values()
            ]
            lines.append(f"| {name} | {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(results, path, epochs):
    """Test ELBO against training seconds, the seeds' mean per estimator."""
    from PIL import Image, ImageDraw

    width, height, margin = 900, 560, 70
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    curves = {}
    for name, runs in results.items():
        finished = [r for r in runs.values() if len(r["test_elbo"]) == epochs]
        if finished:
            curves[name] = (
                np.mean([r["train_seconds"] for r in finished], axis=0),
                np.mean([r["test_elbo"] for r in finished], axis=0),
            )
    if not curves:
        return
    xs = np.concatenate([[0.0], *[c[0] for c in curves.values()]])
    ys = np.concatenate([c[1] for c in curves.values()])
    x_max = float(xs.max()) * 1.05
    y_min, y_max = (
        float(np.floor(ys.min() / 10) * 10),
        float(np.ceil(ys.max() / 10) * 10),
    )

    def at(x, y):
        return (
            margin + (width - 2 * margin) * x / x_max,
            height - margin - (height - 2 * margin) * (y - y_min) / (y_max - y_min),
        )

    draw.rectangle([margin, margin, width - margin, height - margin], outline="black")
    for tick in np.linspace(y_min, y_max, 5):
        x0, y0 = at(0, tick)
        draw.line([x0 - 5, y0, x0, y0], fill="black")
        draw.text((8, y0 - 6), f"{tick:.0f}", fill="black")
    for tick in np.linspace(0, x_max, 6):
        x0, y0 = at(tick, y_min)
        draw.line([x0, y0, x0, y0 + 5], fill="black")
        draw.text((x0 - 12, y0 + 8), f"{tick:.0f}", fill="black")
    draw.text((width // 2 - 80, height - 30), "training time (s, CPU)", fill="black")
    draw.text((8, 20), "test ELBO (nats), mean over seeds", fill="black")
    colours = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
    ]
    for i, (name, (x, y)) in enumerate(curves.items()):
        colour = colours[i % len(colours)]
        points = [at(a, b) for a, b in zip(x, y, strict=True)]
        draw.line(points, fill=colour, width=3)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        draw.text((width - margin - 150, margin + 10 + 16 * i), name, fill=colour)
    image.save(path)


class _StepClock(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter())


def speed(names, data, repeats, steps=200, warmup=30):
    """Median steps/s per estimator: `repeats` interleaved rounds, each the
    median interval between steps (a machine pause moves no figure)."""
    rates = {name: [] for name in names}
    batches = data.train_batches(BATCH_SIZE, seed=0)
    models = {}
    for name in names:  # build and compile once: warm-up steps
        model = CategoricalVAE(estimator=name, seed=0, **CONFIG)
        model.compile(keras.optimizers.Adam(LEARNING_RATE))
        model.fit(batches, epochs=1, steps_per_epoch=warmup, verbose=0)
        models[name] = model
    for _ in range(repeats):
        for name in names:
            clock = _StepClock()
            models[name].fit(
                batches, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock]
            )
            rates[name].append(1.0 / float(np.median(np.diff(clock.times))))
    return {name: float(np.median(r)) for name, r in rates.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--variance-samples", type=int, default=50)
    parser.add_argument("--no-adapt", action="store_true")
    parser.add_argument(
        "--adapt-only",
        choices=("bias", "centre"),
        help="adapt only the decoder's output bias or the input centring",
    )
    parser.add_argument(
        "--speed",
        type=int,
        default=0,
        metavar="REPEATS",
        help="only measure steps/s, interleaved, REPEATS rounds",
    )
    parser.add_argument("--out", default="benchmarks/results/estimators.json")
    parser.add_argument("--plot", default="benchmarks/results/estimators.png")
    args = parser.parse_args(argv)

    data = datasets.load("mnist", data_dir=args.data_dir)
    if args.speed:
        rates = speed(args.estimators, data, args.speed)
        base = rates.get("gumbel_softmax")
        for name, rate in rates.items():
            ratio = f" ({rate / base:.2f}× gumbel_softmax)" if base else ""
            print(f"{name:16s} {rate:7.1f} steps/s{ratio}")
        return
    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)["results"]
    for seed in args.seeds:
        for name in args.estimators:
            runs = results.setdefault(name, {})
            if len(runs.get(str(seed), {}).get("test_elbo", [])) == args.epochs:
                continue
            runs[str(seed)] = run(name, seed, data, args)
            os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(
                    {
                        "command": "python -m benchmarks.estimators "
                        + " ".join(argv or __import__("sys").argv[1:]),
                        "backend": keras.backend.backend(),
                        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                        "config": {
                            **CONFIG,
                            "learning_rate": LEARNING_RATE,
                            "batch_size": BATCH_SIZE,
                            "epochs": args.epochs,
                            "adapt": args.adapt_only or not args.no_adapt,
                        },
                        "results": results,
                    },
                    f,
                    indent=1,
                )
    print(summary(results, args.epochs))
    print()
    print(variance_table(results))
    if args.plot:
        plot(results, args.plot, args.epochs)
        print(f"\nwrote {args.plot}")


if __name__ == "__main__":
    main()

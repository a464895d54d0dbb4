"""Do the models train at their defaults from plain `compile(); fit()`?

    KERAS_BACKEND=jax python -m benchmarks.default_training --data-dir ../shared/data

Each named model at its constructor's defaults (784 pixels, static MNIST),
`model.compile()` (the library's default optimizer) and
`model.fit(x_train, batch_size=100)` for `--steps` steps, no `adapt` call
(`fit` adapts), over `--seeds`. Reported per run: the test ELBO (all
10,000 test images, one discrete sample each: `evaluate`) and the encoder's
mutual information I(x; z) on 1,000 test images (Σ over units of
H(E_x q) − E_x H(q), binary or one-hot; < 0.5 nats is "collapsed": every
input gets the same code distribution). `--no-adapt` shows the runs
without the automatic adaptation.
"""

import argparse
import json
import os
import time

import keras
import numpy as np

from keras_dvae import datasets, models

MODELS = ("BernoulliVAE", "DVAE", "DVAEPP", "CategoricalVAE")
COLLAPSE_NATS = 0.5


def mutual_information(probs, num_categories=None):
    """Σ over latents of I(x; z_l), from per-example probabilities."""
    q = np.clip(probs.astype("float64"), 1e-12, 1 - 1e-12)
    if num_categories is None:  # binary units: two-outcome entropies
        q = np.stack([q, 1.0 - q], axis=-1)
    else:
        q = q.reshape(len(q), -1, num_categories)
    marginal = q.mean(0)
    return float(
        (-(marginal * np.log(marginal)).sum(-1) + (q * np.log(q)).sum(-1).mean(0)).sum()
    )


def run(name, seed, data, args):
    keras.utils.set_random_seed(seed)
    model = getattr(models, name)(seed=seed)
    model.compile()
    steps_per_epoch = min(args.steps, len(data.x_train) // 100)
    epochs = max(1, args.steps // steps_per_epoch)
    start = time.perf_counter()
    model.fit(
        data.x_train,
        batch_size=100,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=0,
        adapt=not args.no_adapt,
    )
    seconds = time.perf_counter() - start
    metrics = model.evaluate(data.x_test, batch_size=1000, verbose=0, return_dict=True)
    _, probs = model.encode(data.x_test[:1000])
    mi = mutual_information(probs, getattr(model, "num_categories", None))
    return {
        "test_elbo": float(metrics["elbo"]),
        "kl": float(metrics["kl"]),
        "mutual_information": mi,
        "collapsed": mi < COLLAPSE_NATS,
        "steps": epochs * steps_per_epoch,
        "seconds": seconds,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--no-adapt", action="store_true")
    parser.add_argument("--out", default="benchmarks/results/default_training.json")
    args = parser.parse_args(argv)
    data = datasets.load("mnist_static", data_dir=args.data_dir)
    results = {}
    if os.path.exists(args.out):
        with open(args.out) as f:
            results = json.load(f)
    key = "no_adapt" if args.no_adapt else "adapt"
    for name in args.models:
        for seed in args.seeds:
            runs = results.setdefault(key, {}).setdefault(name, {})
            if str(seed) not in runs:
                runs[str(seed)] = run(name, seed, data, args)
                with open(args.out, "w") as f:
                    json.dump(results, f, indent=1)
            r = runs[str(seed)]
            print(
                f"{name:15s} seed {seed}: test ELBO {r['test_elbo']:8.2f}, KL "
                f"{r['kl']:6.2f}, I(x;z) {r['mutual_information']:6.2f} nats"
                f"{' COLLAPSED' if r['collapsed'] else ''} ({r['steps']} steps, "
                f"{r['seconds']:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()

"""Training steps per second of the fully connected models, per backend.

Times `model.fit` on random binary 784-pixel data at batch 100 (the
reference batch): the 2-group nonlinear DVAE++ with the reference PCD
(1000 chains × 40 sweeps) and lighter settings, plus the directed-prior
BernoulliVAE for comparison. The first epoch (compilation) is excluded;
the median of the timed epochs is reported.

    KERAS_BACKEND=jax python benchmarks/train_throughput.py
    KERAS_BACKEND=tensorflow python benchmarks/train_throughput.py --quick
"""

import argparse
import json
import statistics
import time

import keras
import numpy as np

from benchmarks.rbm_common import describe_machine
from keras_dvae import models
from keras_dvae import schedules as dvae_schedules

CONFIGS = {
    "dvaepp_2nl_pcd1000x40": (
        models.DVAEPP,
        dict(num_groups=2, num_chains=1000, gibbs_sweeps=40),
    ),
    "dvaepp_2nl_pcd100x10": (
        models.DVAEPP,
        dict(num_groups=2, num_chains=100, gibbs_sweeps=10),
    ),
    "dvae_2nl_pcd100x10": (
        models.DVAE,
        dict(num_groups=2, num_chains=100, gibbs_sweeps=10),
    ),
    "dvaepp_1nl_pcd1000x40": (
        models.DVAEPP,
        dict(num_groups=1, num_chains=1000, gibbs_sweeps=40),
    ),
    "bernoulli_2nl_joint": (models.BernoulliVAE, dict(num_groups=2)),
    "bernoulli_1nl_marginal": (
        models.BernoulliVAE,
        dict(num_groups=1, elbo="marginal"),
    ),
}


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._start)


def measure(name, steps_per_epoch, epochs, batch_size=100, schedules=False):
    cls, kwargs = CONFIGS[name]
    x = np.random.default_rng(0).random((steps_per_epoch * batch_size, 784)) < 0.13
    x = x.astype("float32")
    model = cls(
        image_shape=(784,),
        num_latents=200 * kwargs.get("num_groups", 1),
        seed=0,
        **kwargs,
    )
    model.adapt(x)
    total = steps_per_epoch * (epochs + 1)
    # The KL warm-up and β ramp of the reference recipe, run in-graph.
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3, epsilon=1e-3),
        schedules={
            "kl_weight": dvae_schedules.Linear(0.0, 1.0, total),
            "beta": dvae_schedules.Linear(6.0, 15.0, total),
        }
        if schedules
        else None,
    )
    timer = _EpochTimer()
    model.fit(x, batch_size=batch_size, epochs=epochs + 1, verbose=0, callbacks=[timer])
    per_epoch = timer.times[1:]
    median = statistics.median(per_epoch)
    return {
        "config": name + (" +schedules" if schedules else ""),
        "backend": keras.backend.backend(),
        "steps_per_second": round(steps_per_epoch / median, 2),
        "epoch_seconds": [round(t, 3) for t in per_epoch],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS))
    parser.add_argument("--steps", type=int, default=50, help="steps per timed epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs")
    parser.add_argument("--quick", action="store_true", help="20 steps × 2 epochs")
    parser.add_argument(
        "--schedules", action="store_true", help="also time with per-step callbacks"
    )
    args = parser.parse_args()
    if args.quick:
        args.steps, args.epochs = 20, 2
    print(json.dumps(describe_machine()))
    for name in args.configs:
        print(json.dumps(measure(name, args.steps, args.epochs)), flush=True)
        if args.schedules and name.startswith("bernoulli"):
            result = measure(name, args.steps, args.epochs, schedules=True)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

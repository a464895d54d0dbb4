"""Cost of the in-graph schedules during `fit` (matters on JAX).

Median steps/s of 3 fits of 150 steps (batch 100, random binary
784-pixel data) of the 1-nonlinear marginal BernoulliVAE, after a first
fit that compiles, with no schedule and with the reference recipe's KL
warm-up and β ramp evaluated inside the compiled step
(`DiscreteVAE.compile(schedules=...)`). The callbacks that did this before
cost 18–28 % of a step on JAX (a full state sync each step; RESULTS.md).

    KERAS_BACKEND=jax python -m benchmarks.annealing_overhead
"""

import json
import statistics
import time

import keras
import numpy as np

from keras_dvae import models, schedules

CASES = {
    "none": lambda: None,
    "KL warm-up + β ramp, in-graph": lambda: {
        "kl_weight": schedules.Linear(0.0, 1.0, 10**6),
        "beta": schedules.Linear(6.0, 15.0, 10**6),
    },
}


def main(repeats=3, epochs=3):
    x = (np.random.default_rng(0).random((5000, 784)) < 0.13).astype("float32")
    steps = epochs * len(x) // 100
    rates = {name: [] for name in CASES}
    models_ = {}
    for name, make in CASES.items():
        model = models.BernoulliVAE(
            image_shape=(784,), num_groups=1, elbo="marginal", seed=0
        )
        model.compile(optimizer="adam", schedules=make())
        model.fit(x, epochs=1, batch_size=100, verbose=0)
        models_[name] = model
    for _ in range(repeats):  # interleaved
        for name, model in models_.items():
            start = time.perf_counter()
            model.fit(x, epochs=epochs, batch_size=100, verbose=0)
            rates[name].append(steps / (time.perf_counter() - start))
    for name in CASES:
        result = {"backend": keras.backend.backend(), "schedules": name}
        print(
            json.dumps({**result, "steps_per_second": statistics.median(rates[name])})
        )


if __name__ == "__main__":
    main()

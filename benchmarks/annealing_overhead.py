"""Cost of the per-step annealing callbacks during `fit` (matters on JAX).

Median steps/s of 3 fits of 150 steps (batch 100, random binary
784-pixel data) of the 1-nonlinear marginal BernoulliVAE, after a first
fit that compiles, with: no callback; a KL warm-up still ramping (updated
every step, or every 10); a warm-up whose ramp has ended.

    KERAS_BACKEND=jax python -m benchmarks.annealing_overhead
"""

import json
import statistics
import time

import keras
import numpy as np

from keras_dvae import callbacks, models

CASES = {
    "none": lambda: [],
    "ramping, every step": lambda: [callbacks.KLWarmup(10**6)],
    "ramping, every=10": lambda: [callbacks.KLWarmup(10**6, every=10)],
    "ramp ended": lambda: [callbacks.KLWarmup(45)],
}


def main(repeats=3, epochs=3):
    x = (np.random.default_rng(0).random((5000, 784)) < 0.13).astype("float32")
    model = models.BernoulliVAE(
        image_shape=(784,), num_groups=1, elbo="marginal", seed=0
    )
    model.compile(optimizer="adam")
    model.fit(x, epochs=1, batch_size=100, verbose=0)
    steps = epochs * len(x) // 100
    for name, make in CASES.items():
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.fit(x, epochs=epochs, batch_size=100, verbose=0, callbacks=make())
            rates.append(steps / (time.perf_counter() - start))
        result = {"backend": keras.backend.backend(), "callbacks": name}
        print(json.dumps({**result, "steps_per_second": statistics.median(rates)}))


if __name__ == "__main__":
    main()

"""Sampling + gradient throughput of each smoothing family on the current backend.

Times one compiled step that draws ζ = F⁻¹(ρ) for a (batch, latents) block of
logits and differentiates Σ ζ with respect to the logits, and prints elements
per second (median of repeats). Run once per backend:

    for b in tensorflow jax torch; do
        KERAS_BACKEND=$b .venv/bin/python benchmarks/smoothing_throughput.py
    done
"""

import argparse
import platform
import statistics
import time

import keras
import numpy as np

from keras_dvae import smoothing

BACKEND = keras.backend.backend()


def make_step(family):
    """A compiled function logits, rho → (ζ, dΣζ/dlogits) on this backend."""
    if BACKEND == "jax":
        import jax

        return jax.jit(jax.value_and_grad(lambda lg, r: family._icdf(r, lg).sum()))
    if BACKEND == "tensorflow":
        import tensorflow as tf

        @tf.function(jit_compile=False)
        def step(logits, rho):
            with tf.GradientTape() as tape:
                tape.watch(logits)
                total = tf.reduce_sum(family._icdf(rho, logits))
            return total, tape.gradient(total, logits)

        return step

    def step(logits, rho):
        logits = logits.detach().requires_grad_(True)
        total = family._icdf(rho, logits).sum()
        total.backward()
        return total, logits.grad

    return step


def sync(x):
    keras.ops.convert_to_numpy(x[1] if isinstance(x, tuple) else x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--latents", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--iters", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.batch, args.latents)
    logits = keras.ops.convert_to_tensor(rng.normal(0, 2, shape).astype("float32"))
    rho = keras.ops.convert_to_tensor(rng.uniform(size=shape).astype("float32"))
    print(
        f"backend={BACKEND} keras={keras.__version__} "
        f"machine={platform.processor() or platform.machine()}"
    )
    print(
        f"block {shape[0]}x{shape[1]} = {np.prod(shape)} elements; sample + grad; "
        f"median of {args.repeats}x{args.iters}"
    )
    print("| family | inverse | elements/s (median) | ms/step |")
    print("| --- | --- | --- | --- |")
    for name, cls in smoothing.FAMILIES.items():
        family = cls()
        step = make_step(family)
        sync(step(logits, rho))  # compile / warm up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            for _ in range(args.iters):
                out = step(logits, rho)
            sync(out)
            times.append((time.perf_counter() - start) / args.iters)
        median = statistics.median(times)
        inverse = (
            "bisection (40 steps, float32)"
            if type(family)._icdf is smoothing.Smoothing._icdf
            else "closed form"
        )
        print(
            f"| {name} | {inverse} | {np.prod(shape) / median:,.0f} "
            f"| {1e3 * median:.3f} |"
        )


if __name__ == "__main__":
    main()

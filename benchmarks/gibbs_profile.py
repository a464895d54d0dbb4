"""Splits a block-Gibbs half-sweep's cost into matmul and random numbers (JAX).

Backend-specific by design: it times bare `jax.jit` loops, 80 iterations
each, of (a) z ← 1[σ(z W) > ½] for 1000 chains × 200 units, and (b) drawing
1000 × 200 threefry uniforms, so that the two halves of a sweep of the
200 + 200 RBM can be compared. Median of 5 timings.

    python -m benchmarks.gibbs_profile
"""

import statistics
import time

import jax
import jax.numpy as jnp

CHAINS, UNITS, ITERATIONS = 1000, 200, 80


def _timed(fn, arg, repeats=5):
    fn(arg).block_until_ready()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(arg).block_until_ready()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times) / ITERATIONS


def main():
    w = 0.1 * jax.random.normal(jax.random.PRNGKey(0), (UNITS, UNITS))
    z = (jax.random.uniform(jax.random.PRNGKey(1), (CHAINS, UNITS)) < 0.5) * 1.0

    @jax.jit
    def matmul(z):
        def body(_, z):
            return (jax.nn.sigmoid(z @ w) > 0.5).astype(jnp.float32)

        return jax.lax.fori_loop(0, ITERATIONS, body, z)

    @jax.jit
    def uniforms(key):
        def body(_, carry):
            key, total = carry
            key, sub = jax.random.split(key)
            return key, total + jax.random.uniform(sub, (CHAINS, UNITS)).sum()

        return jax.lax.fori_loop(0, ITERATIONS, body, (key, 0.0))[1]

    print(f"jax {jax.__version__}, {CHAINS} chains x {UNITS} units, ms per half-sweep")
    print(f"matmul + sigmoid: {_timed(matmul, z):.3f}")
    print(f"threefry uniforms: {_timed(uniforms, jax.random.PRNGKey(2)):.3f}")


if __name__ == "__main__":
    main()

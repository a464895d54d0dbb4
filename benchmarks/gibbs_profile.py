"""What a block-Gibbs sweep costs against its matmuls, and what it does to a step.

Two parts, both sides of every comparison timed in one process, interleaved
(the machine is shared), medians reported:

1. **Half-sweep profile** (JAX only: bare `jax.jit` loops of 80 iterations
   at 1000 chains × 200 units, the reference PCD of the 200 + 200 RBM):
   (a) z ← 1[σ(z W) > ½], the matmul and sigmoid alone; (b) the uniform
   draws alone, Keras's (`keras.random.uniform`, threefry) and the counter-based
   hash (`keras_dvae.utils.counter_random.uniform`); (c) the whole
   half-sweep z ← 1[u < σ(z W)] with each generator. The ratio (c)/(a) is
   the sweep's cost in units of its matmul time.
2. **Training steps per second** (any backend): `model.fit` of the 2-group
   DVAE++ at the reference PCD (1000 chains × 40 sweeps), batch 100,
   random binary data, with the RBM's chains driven by Keras's generator
   (threefry on JAX, Philox on TF, torch's own) and by the counter
   generator (`rbm_sampling.COUNTER_BACKENDS` set either way), alternating
   epochs.

    python -m benchmarks.gibbs_profile                   # JAX, both parts
    KERAS_BACKEND=tensorflow python -m benchmarks.gibbs_profile --part steps
"""

import argparse
import contextlib
import json
import statistics
import time

import keras
import numpy as np

from benchmarks.rbm_common import describe_machine
from keras_dvae import models
from keras_dvae.priors import rbm_sampling
from keras_dvae.utils import counter_random

CHAINS, UNITS, ITERATIONS = 1000, 200, 80


def _keras_uniform(shape, seed, dtype="float32"):
    return keras.random.uniform(shape, dtype=dtype, seed=seed)


GENERATORS = {"keras": _keras_uniform, "counter": counter_random.uniform}


def _timed(fn, arg):
    start = time.perf_counter()
    out = fn(arg)
    out.block_until_ready()
    return 1e3 * (time.perf_counter() - start) / ITERATIONS


def half_sweep_profile(repeats):
    """Median ms per half-sweep iteration of each loop (JAX)."""
    import jax
    import jax.numpy as jnp

    w = 0.1 * jax.random.normal(jax.random.PRNGKey(0), (UNITS, UNITS))
    z0 = (jax.random.uniform(jax.random.PRNGKey(1), (CHAINS, UNITS)) < 0.5) * 1.0

    @jax.jit
    def matmul(z):
        def body(_, z):
            return (jax.nn.sigmoid(z @ w) > 0.5).astype(jnp.float32)

        return jax.lax.fori_loop(0, ITERATIONS, body, z)

    def seeded_loop(step, initial):
        """A jitted loop of `value = step(value, seed)`, one fresh stateless
        Keras seed (a key's data) per iteration."""

        @jax.jit
        def run(key):
            def body(_, carry):
                key, value = carry
                key, sub = jax.random.split(key)
                return key, step(value, jax.random.key_data(sub))

            return jax.lax.fori_loop(0, ITERATIONS, body, (key, initial))[1]

        return run

    def draws(generate):
        return seeded_loop(
            lambda total, seed: total + generate((CHAINS, UNITS), seed).sum(), 0.0
        )

    def sweep(generate):
        def step(z, seed):
            u = generate((CHAINS, UNITS), seed)
            return (u < jax.nn.sigmoid(z @ w)).astype(jnp.float32)

        return seeded_loop(step, z0)

    key = jax.random.key(2)
    loops = {"matmul + sigmoid": (matmul, z0)}
    for name, generate in GENERATORS.items():
        loops[f"{name} uniforms"] = (draws(generate), key)
    for name, generate in GENERATORS.items():
        loops[f"half-sweep, {name}"] = (sweep(generate), key)
    for fn, arg in loops.values():  # compile
        fn(arg).block_until_ready()
    times = {name: [] for name in loops}
    for _ in range(repeats):
        for name, (fn, arg) in loops.items():
            times[name].append(_timed(fn, arg))
    return {name: statistics.median(t) for name, t in times.items()}


# Each side's own wrapped loop bodies: JAX keeps a loop body's trace per
# function object (`seeded_fori_loop`), so sharing them would give both
# models the generator traced first.
_BODIES = {name: {} for name in GENERATORS}


@contextlib.contextmanager
def _generator(name):
    saved = rbm_sampling.COUNTER_BACKENDS, rbm_sampling._WRAPPED_BODIES
    counter = (keras.backend.backend(),) if name == "counter" else ()
    rbm_sampling.COUNTER_BACKENDS = counter
    rbm_sampling._WRAPPED_BODIES = _BODIES[name]
    try:
        yield
    finally:
        rbm_sampling.COUNTER_BACKENDS, rbm_sampling._WRAPPED_BODIES = saved


def training_steps(steps, rounds):
    """Median steps/s of `fit` epochs with each generator, alternating."""
    x = (np.random.default_rng(0).random((steps * 100, 784)) < 0.13).astype("float32")
    fitted = {}
    for name in GENERATORS:
        with _generator(name):
            model = models.DVAEPP(
                (784,),
                num_latents=400,
                num_groups=2,
                num_chains=1000,
                gibbs_sweeps=40,
                seed=0,
            )
            model.adapt(x)
            model.compile(optimizer=keras.optimizers.Adam(3e-3, epsilon=1e-3))
            model.fit(x, batch_size=100, epochs=1, verbose=0)  # compile
        fitted[name] = model
    rates = {name: [] for name in GENERATORS}
    for _ in range(rounds):
        for name, model in fitted.items():
            with _generator(name):
                start = time.perf_counter()
                model.fit(x, batch_size=100, epochs=1, verbose=0)
                rates[name].append(steps / (time.perf_counter() - start))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("profile", "steps", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=7, help="profile timings")
    parser.add_argument("--steps", type=int, default=30, help="steps per timed epoch")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per side")
    args = parser.parse_args()
    backend = keras.backend.backend()
    print(json.dumps(describe_machine()))
    if args.part in ("profile", "both") and backend == "jax":
        ms = half_sweep_profile(args.repeats)
        print(f"{CHAINS} chains x {UNITS} units, ms per half-sweep (median)")
        for name, value in ms.items():
            print(f"  {name:26s} {value:.3f}")
        base = ms["matmul + sigmoid"]
        for name in GENERATORS:
            ratio = ms[f"half-sweep, {name}"] / base
            print(f"  half-sweep / matmul, {name}: {ratio:.2f}")
    if args.part in ("steps", "both"):
        rates = training_steps(args.steps, args.rounds)
        print(f"{backend}: DVAE++ 2 groups, PCD 1000 x 40, steps/s per epoch")
        for name, values in rates.items():
            cells = " ".join(f"{v:.2f}" for v in values)
            print(f"  {name:9s} median {statistics.median(values):.2f}  ({cells})")
        pairs = zip(rates["counter"], rates["keras"], strict=True)
        ratio = statistics.median(c / t for c, t in pairs)
        print(f"  counter / keras, median of paired ratios: {ratio:.2f}")


if __name__ == "__main__":
    main()

"""Training steps per second of this checkout against another, interleaved.

    KERAS_BACKEND=jax python -m benchmarks.compare_versions --baseline /tmp/oldmain

Each measurement is a fresh process that imports keras_dvae from one
checkout, builds a model, fits a warm-up epoch (compilation) and then times
`--steps` steps. The two checkouts alternate, `--repeats` times each, so
load from other work on the machine hits both alike; the script prints the
median steps/s of each and their ratio. Models: the 2-group nonlinear
DVAE++ with light PCD (100 chains × 10 sweeps) and the convolutional
preset architecture (`dvaepp_small_mnist_static`), batch 100, random binary data.
A run's rate is 1 / the median time between consecutive steps (a callback
takes the times), so a pause of the machine in one step does not count;
the rate over the whole epoch, with its once-per-`fit` work (data checks,
iterator set-up), is printed beside it.
The two checkouts may name constructor arguments differently: the child
reads the model class's signature and translates.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import inspect, json, sys, time
import numpy as np, keras
from keras_dvae import models
name, steps = sys.argv[1], int(sys.argv[2])
old = "latents_per_group" in inspect.signature(models.DVAEPP).parameters
if name == "dvaepp_2nl":
    args = (dict(input_dim=784, latents_per_group=200, num_groups=2) if old
            else dict(image_shape=(784,), num_latents=400, num_groups=2))
    model = models.DVAEPP(num_chains=100, gibbs_sweeps=10, seed=0, **args)
else:
    args = (dict(global_latents=16, global_groups=2, global_units=256) if old
            else dict(num_latents=16, num_groups=2, hidden_units=(256,)))
    model = models.ConvDVAEPP(image_shape=(28, 28, 1), local_groups=4,
                              local_channels=4, filters=32, num_chains=100,
                              gibbs_sweeps=10, seed=0, **args)
x = (np.random.default_rng(0).random((steps * 100, 784)) < 0.13).astype("float32")
model.adapt(x)
model.compile(optimizer=keras.optimizers.Adam(3e-3, epsilon=1e-3))
model.fit(x[:2000], batch_size=100, epochs=1, verbose=0)
ends = []
clock = keras.callbacks.LambdaCallback(
    on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
start = time.perf_counter()
model.fit(x, batch_size=100, epochs=1, verbose=0, callbacks=[clock])
wall = steps / (time.perf_counter() - start)
step = float(np.median(np.diff(ends)))
print(json.dumps({"steps_per_second": 1 / step, "wall": wall}))
"""


def run_child(code, *args, cwd=None, **env):
    """Runs `code` in a fresh Python process (`env` added to the environment);
    returns the JSON of its last line of output."""
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(checkout, name, steps):
    return run_child(CHILD, name, steps, cwd=checkout, PYTHONPATH=checkout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the other checkout")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["dvaepp_2nl", "conv"])
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args(argv)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkouts = {"this": here, "baseline": os.path.abspath(args.baseline)}
    for name in args.models:
        steps = args.steps or (500 if name == "dvaepp_2nl" else 60)
        runs = {"this": [], "baseline": []}
        for repeat in range(args.repeats):
            order = ["this", "baseline"] if repeat % 2 == 0 else ["baseline", "this"]
            for key in order:
                runs[key].append(measure(checkouts[key], name, steps))
        for kind, label in (("steps_per_second", "per step"), ("wall", "per epoch")):
            rates = {k: [r[kind] for r in v] for k, v in runs.items()}
            this, base = (statistics.median(rates[k]) for k in ("this", "baseline"))
            print(
                f"{name} ({label}): this {this:.1f} steps/s, baseline "
                f"{base:.1f} steps/s, ratio {this / base:.3f} (medians of "
                f"{args.repeats}; runs: {[round(r, 1) for r in rates['this']]} "
                f"vs {[round(r, 1) for r in rates['baseline']]})",
                flush=True,
            )


if __name__ == "__main__":
    main()

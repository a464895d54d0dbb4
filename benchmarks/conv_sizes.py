"""Size and training speed of the convolutional recipes, side by side.

    KERAS_BACKEND=jax python -m benchmarks.conv_sizes [--steps 10 --rounds 5]

For the small preset model (`dvaepp_small_mnist_static`: 4 local groups),
DVAE++ Table 3's (`dvaepp_mnist_static`: 16 groups, 32 filters) and the
same at 64 filters: parameters, the bytes of `model.weights.h5` (what a
preset ships and the GPU machine's 64 MiB working tree carries), and
training steps per second at batch 100 on random binary 28×28 images.
Every model is built and compiled as its recipe says and warmed up
(compilation) first; then the models take turns, `--steps` steps each,
`--rounds` times, so load from other work hits them alike. Printed: the
median steps/s of each and its ratio to the small model's.
"""

import argparse
import json
import pathlib
import statistics
import tempfile
import time
import types

import numpy as np

from benchmarks.rbm_common import describe_machine
from keras_dvae import recipes, training

VARIANTS = {
    "dvaepp_small_mnist_static": {},
    "dvaepp_mnist_static": {},
    "dvaepp_mnist_static (64 filters)": {"filters": 64},
}


def build(name, overrides, steps):
    recipe = recipes.get(name.split(" ")[0], model_args=overrides)
    data = types.SimpleNamespace(image_shape=(28, 28))
    model = training.build_model(recipe, data, seed=0)
    training.compile_model(model, recipe, steps)
    return model


def weights_bytes(model):
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "model.weights.h5"
        training.save_weights(model, path)
        return path.stat().st_size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = (rng.random((100 * args.steps, 784)) < 0.13).astype("float32")
    models = {}
    for name, overrides in VARIANTS.items():
        model = build(name, overrides, args.steps * (args.rounds + 1))
        model.adapt(x)
        model.fit(x, batch_size=100, epochs=1, verbose=0)  # compiles
        models[name] = model
    rates = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(x, batch_size=100, epochs=1, verbose=0)
            rates[name].append(args.steps / (time.perf_counter() - start))
    base = statistics.median(rates["dvaepp_small_mnist_static"])
    result = {"machine": describe_machine(), "steps": args.steps, "rounds": args.rounds}
    for name, model in models.items():
        rate = statistics.median(rates[name])
        row = {
            "parameters": int(model.count_params()),
            "weights_mb": round(weights_bytes(model) / 1e6, 2),
            "steps_per_second": round(rate, 3),
            "ratio_to_small": round(rate / base, 3),
        }
        result[name] = row
        print(f"{name:34s} {json.dumps(row)}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

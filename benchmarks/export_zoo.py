"""Copies a finished reproduction run into `zoo/<name>/` as a preset folder.

Writes `config.json` (the model's Keras config), `model.weights.h5` (model
variables only: no optimizer state), `metadata.json` (dataset, measured
metrics with their K and log Z method, command, hardware, time, sha256 of
the weights) and `samples.png`.

    KERAS_BACKEND=jax python -m benchmarks.export_zoo outputs/reproduce/dvaepp_2nl \
        zoo/dvaepp_2nl_mnist_static
"""

import hashlib
import json
import os
import sys

import keras

from keras_dvae import cli, datasets


def main(run_dir, zoo_dir):
    with open(os.path.join(run_dir, "results.json")) as f:
        results = json.load(f)
    cls = getattr(__import__("keras_dvae.models", fromlist=["x"]), results["class"])
    model = cls.from_config(results["config"])
    # Only the model's variables: the run's file also holds Adam's moments.
    model.load_weights(os.path.join(run_dir, "model.weights.h5"), skip_mismatch=True)
    os.makedirs(zoo_dir, exist_ok=True)
    weights = os.path.join(zoo_dir, "model.weights.h5")
    model.save_weights(weights)
    with open(os.path.join(zoo_dir, "config.json"), "w") as f:
        json.dump(keras.saving.serialize_keras_object(model), f, indent=2)
    with open(weights, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    args = results["args"]
    metadata = {
        "dataset": "mnist_static",
        "paper": results["paper"],
        "metrics": {
            key: results[key]
            for key in ("test_ll_subset", "test_ll_k100_full", "test_elbo_discrete")
        },
        "training": {
            "iterations": results["iterations"],
            "epochs": results["epochs"],
            "train_seconds": results["train_seconds"],
            "steps_per_second": results["steps_per_second"],
            "backend": results["backend"],
            "hardware": results["hardware"],
            "command": (
                f"KERAS_BACKEND={results['backend']} python -m "
                f"benchmarks.reproduce_dvaepp --model {args['model']} "
                f"--epochs {args['epochs']} --num-chains {args['num_chains']} "
                f"--gibbs-sweeps {args['gibbs_sweeps']} --data-dir ../shared/data"
            ),
        },
        "weights_sha256": digest,
    }
    with open(os.path.join(zoo_dir, "metadata.json"), "w") as f:
        json.dump(metadata, f, indent=2)
    data = datasets.load("mnist_static", data_dir=args.get("data_dir"))
    cli._samples_png(model, data, os.path.join(zoo_dir, "samples.png"), 0)
    print(f"Wrote {zoo_dir} (weights sha256 {digest})")


if __name__ == "__main__":
    main(*sys.argv[1:3])

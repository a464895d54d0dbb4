"""Copies a finished reproduction run into `zoo/<name>/` as a preset folder.

`keras_dvae.zoo.export` writes `config.json`, `model.weights.h5` (model
variables only: no optimizer state), `metadata.json` (dataset, measured
metrics with their K and log Z method, command, hardware, time, sha256 of
the weights), `samples.png` and a model card when the folder has none.
This script gathers the metadata from the run's `results.json` and adds a
`ci_check` (the first 100 test images, K = 100, under the run's log Z) that
`tests/zoo` re-measures on every backend.

    KERAS_BACKEND=jax python -m benchmarks.export_zoo outputs/reproduce/dvaepp_2nl \
        zoo/dvaepp_2nl_mnist_static

Re-measure the `ci_check` on the other backends before committing and widen
its tolerance if they disagree (see CONTRIBUTING.md, "adding a preset").
"""

import json
import os
import sys

import numpy as np

from keras_dvae import cli, datasets, models, zoo

CI_EXAMPLES = 100
CI_SAMPLES = 100


def ci_check(model, data, log_z):
    """The mean log-likelihood of the first test rows, with a tolerance.

    Tolerance: 4 × (standard error over examples) / √n, a loose bound on
    the Monte Carlo spread of the mean across backends and seeds (measured
    0.1–0.2 nats for K = 100 on 100 MNIST images), and at least 1 nat.
    """
    ll = model.log_likelihood(data.x_test[:CI_EXAMPLES], num_samples=CI_SAMPLES)
    standard_error = float(ll.std(ddof=1) / np.sqrt(len(ll)))
    check = {
        "dataset": data.name,
        "split": "test",
        "num_examples": CI_EXAMPLES,
        "num_samples": CI_SAMPLES,
        "mean": round(float(ll.mean()), 2),
        "tolerance": round(max(1.0, 4 * standard_error / np.sqrt(len(ll))), 2),
    }
    if log_z is not None:
        check["log_partition"] = log_z
    return check


def main(run_dir, zoo_dir):
    with open(os.path.join(run_dir, "results.json")) as f:
        results = json.load(f)
    model = getattr(models, results["class"]).from_config(results["config"])
    # Only the model's variables: the run's file also holds Adam's moments.
    model.load_weights(os.path.join(run_dir, "model.weights.h5"), skip_mismatch=True)
    args = results["args"]
    data = datasets.load("mnist_static", data_dir=args.get("data_dir"))
    metrics = {
        key: results[key]
        for key in ("test_ll_subset", "test_ll_k100_full", "test_elbo_discrete")
    }
    metadata = {
        "dataset": data.name,
        "paper": results["paper"],
        "metrics": metrics,
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
                f"--epochs {args['epochs']} "
                + (
                    f"--num-chains {args['num_chains']} "
                    f"--gibbs-sweeps {args['gibbs_sweeps']} "
                    if hasattr(model, "estimate_log_partition")  # RBM: PCD settings
                    else ""
                )
                + "--data-dir ../shared/data"
            ),
        },
    }
    log_z = None
    info = metrics["test_ll_subset"].get("log_partition")
    if info and hasattr(model, "estimate_log_partition"):
        # The AIS log Z of the run, without the reverse-AIS bracket.
        keys = ("log_z", "method", "log_z_lower", "log_z_upper", "num_betas")
        metadata["log_partition"] = {k: info[k] for k in keys if k in info}
        log_z = info["log_z"]
        model.log_partition.assign(np.float32(log_z))
        model.log_partition_info = metadata["log_partition"]
    metadata["ci_check"] = ci_check(model, data, log_z)
    written = zoo.export(model, zoo_dir, metadata, samples=cli.sample_grid(model, data))
    print(f"Wrote {zoo_dir} (weights sha256 {written['weights_sha256']})")


if __name__ == "__main__":
    main(*sys.argv[1:3])

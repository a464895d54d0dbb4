"""Does light PCD (100 chains × 10 sweeps) cost accuracy? An ablation at equal steps.

    KERAS_BACKEND=jax python -m benchmarks.pcd_ablation --data-dir ../shared/data

Trains the zoo's 2-group nonlinear DVAE++ recipe (`dvaepp_2nl_mnist_static`)
twice from the same seed for the same `--epochs` (500 steps each on static
MNIST), once with the zoo's light PCD and once with the reference recipe's
1000 chains × 40 Gibbs sweeps a step (METHODS.md §4), and prints each run's
test log-likelihood (K = `--samples` on `--examples` fixed random test
images, log Z by AIS), training speed and the difference with its standard
error (paired: the same test images; each model's log Z error adds a
shared offset the s.e. does not include: AIS brackets it within ~0.1 nats
here). Everything else is the recipe's:
learning-rate schedule and KL warm-up laid over the run's steps. Runs
are kept in `--output-dir` (rerun to resume).
"""

import argparse
import json
import os

from benchmarks.paired_presets import paired_difference
from keras_dvae import evaluation, training

SETTINGS = {
    "light": {"num_chains": 100, "gibbs_sweeps": 10},
    "reference": {"num_chains": 1000, "gibbs_sweeps": 40},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default="outputs/pcd_ablation")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS))
    args = parser.parse_args(argv)
    data = training.load_data("dvaepp_2nl_mnist_static", args.data_dir)
    x = data.x_test[training.evaluation_rows(len(data.x_test), args.examples)]
    per_example = {}
    for name in args.settings:
        run = training.train(
            "dvaepp_2nl_mnist_static",
            data=data,
            output_dir=os.path.join(args.output_dir, name),
            epochs=args.epochs,
            seed=args.seed,
            model_args=SETTINGS[name],
            evaluate_model=False,
            progress=True,
        )
        report = evaluation.log_likelihood_report(
            run.model,
            x,
            num_samples=args.samples,
            log_partition="auto",
            ais_kwargs=run.recipe["ais"] or None,
        )
        per_example[name] = report.per_example
        result = {
            "steps": run.steps,
            "train_seconds": run.metrics["train_seconds"],
            "steps_per_second": round(run.steps / run.metrics["train_seconds"], 1),
            "test_ll": round(report.mean, 3),
            "standard_error": round(report.standard_error, 3),
            "log_z": report.log_partition,
        }
        print(json.dumps({name: result}), flush=True)
    if {"light", "reference"} <= set(per_example):
        mean, error = paired_difference(per_example["light"], per_example["reference"])
        print(
            f"reference − light: {mean:.2f} ± {error:.2f} nats (paired s.e. over "
            f"{len(x)} test images; K={args.samples}; {args.epochs} epochs)"
        )


if __name__ == "__main__":
    main()

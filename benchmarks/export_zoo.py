"""Exports a finished training run as a preset folder `zoo/<name>/`.

For a run of `keras-dvae train NAME` or `benchmarks/reproduce_dvaepp.py`
(a folder written by `keras_dvae.training.train`), without evaluating
again: the metrics are the run's `metrics.json`, log Z the one the run
measured. `keras_dvae.zoo.exporting.export_preset` writes the folder
(`zoo.export`: config, model-only weights, metadata, samples; the model
card; `train.sh` with the command that rebuilds it) and a `ci_check`.

    KERAS_BACKEND=jax python -m benchmarks.export_zoo \\
        outputs/reproduce/dvaepp_2nl_mnist_static zoo/dvaepp_2nl_mnist_static

`python -m keras_dvae.zoo.train NAME` trains, evaluates and exports in one
go; `--evaluate-only --output-dir RUN` re-evaluates a finished run first.
Re-measure the `ci_check` on the other backends before committing and
widen its tolerance if they disagree (see CONTRIBUTING.md, "adding a
preset").

The run's `model.weights.h5` holds the model's variables only
(`training.save_weights`), and loading is strict: an earlier version
loaded with `skip_mismatch=True` because the file then also held Adam's
slots. Keras ignores those (loading walks the model, not the file), so the
flag only hid real mismatches, e.g. a config that rebuilds other shapes.
"""

import sys

from keras_dvae import evaluation, training
from keras_dvae.zoo import exporting


def main(run_dir, zoo_dir, data_dir=None):
    run = training.load_run(run_dir, data_dir)
    info = run.metrics["evaluation"]["test_ll"]["log_partition"]
    if info.get("method") == "ais":
        # The run's AIS log Z, not a new estimate, for the ci_check (an
        # exact one is enumerated again, cheaply).
        evaluation.log_likelihood_report(
            run.model, run.data.x_test[:2], num_samples=1, log_partition=info["log_z"]
        )
    written = exporting.export_preset(run, zoo_dir)
    print(f"Wrote {zoo_dir} (weights sha256 {written['weights_sha256']})")


if __name__ == "__main__":
    main(*sys.argv[1:4])

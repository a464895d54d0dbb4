"""Prints the markdown results table of `benchmarks/reproduce_dvaepp.py` runs.

python -m benchmarks.reproduce_table outputs/reproduce > table.md

Reads each `NAME/metrics.json` and `NAME/config.json` that
`keras_dvae.training.train` wrote (the recipes of `reproduce_dvaepp.TABLES`).
"""

import json
import os
import sys

from benchmarks.reproduce_dvaepp import TABLES


def _log_z(info):
    if not info or "log_z_lower" not in info:
        return "– (directed prior)"
    text = (
        f"fwd AIS {info['log_z']:.3f} [{info['log_z_lower']:.3f}, "
        f"{info['log_z_upper']:.3f}]"
    )
    if "reverse_log_z" in info:
        text += f", rev {info['reverse_log_z']:.3f}"
    return text


def rows(run_dir):
    for name in TABLES:
        path = os.path.join(run_dir, name, "metrics.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            r = json.load(f)
        with open(os.path.join(run_dir, name, "config.json")) as f:
            recipe = json.load(f)["training"]
        evaluation = r["evaluation"]
        sub, full = evaluation["test_ll"], evaluation["test_ll_full"]
        # Full-test K = 4000, estimated: the K = 100 full-test mean plus the
        # K = 4000 − K = 100 gain measured on the subset.
        projected = full["mean"] + sub["mean"] - full["mean_on_subset"]
        args = recipe["model_args"]
        pcd = "–"
        if "num_chains" in args:
            pcd = f"{args['num_chains']} × {args['gibbs_sweeps']}"
        paper = recipe["paper"]
        yield (
            f"| {paper['setting']} | {paper['test_ll']:.2f} "
            f"| {sub['mean']:.2f} ± {sub['standard_error']:.2f} "
            f"| {full['mean']:.2f} ± {full['standard_error']:.2f} "
            f"| {projected:.2f} | {evaluation['test_elbo_discrete']:.2f} "
            f"| {_log_z(sub['log_partition'])} "
            f"| {r['steps']:,} | {pcd} | {r['train_seconds'] / 60:.1f} min "
            f"| {r['steps'] / r['train_seconds']:.1f} |"
        )


def main(run_dir):
    print(
        "| setting (paper) | paper | K=4000, 500 test | K=100, 10,000 test "
        "| K=4000 full (est.) | discrete ELBO | log Z | iterations | PCD "
        "| train time | steps/s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows(run_dir):
        print(row)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "outputs/reproduce")

"""Steps each zoo stage spent at each multiple of its base learning rate.

    python -m benchmarks.stage_rates [NAME ...]

A stage continued from step s for L steps lays the reference schedule
(`callbacks.reference_learning_rate`: base × 1/10, 1, 1/3, 1/10, 1/33,
switching at 2 %, 60 %, 75 %, 95 %) over s + L and resumes it at s (a
stage run with `--restart-learning-rate` lays it over its L steps alone). For
each stage of each preset's `metadata.json` this prints the steps at each
multiplier, and the preset's total at the base rate against the 580,000
of the paper's single 10⁶-step run.
"""

import argparse
import collections

from keras_dvae import callbacks, recipes, zoo


def stage_rates(start, length, base):
    """{multiplier: steps} of a stage of `length` steps resumed at `start`."""
    schedule = callbacks.reference_learning_rate(start + length, base, start_step=start)
    cuts = [0, *(min(int(b), length) for b in schedule.boundaries), length]
    steps = collections.Counter()
    for a, b, value in zip(cuts, cuts[1:], schedule.values, strict=False):
        if b > a:
            steps[round(value / base, 4)] += b - a
    return dict(steps)


def restarted(stage):
    """Whether a recorded stage restarted the schedule over itself
    (`--restart-learning-rate`, recorded as its "learning_rate"): it then
    starts at the schedule's step 0."""
    return str(stage.get("learning_rate", "")).startswith("restarted")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    names = args.names or [
        n for n in zoo.list_presets() if recipes.get(n)["schedule"] == "reference"
    ]
    result = {}
    for name in names:
        meta = zoo.get_metadata(name)
        base = recipes.get(name)["learning_rate"]
        stages = meta["training"].get("stages") or [
            {"steps": [0, meta["training"]["iterations"]]}
        ]
        rows = []
        for stage in stages:
            a, b = stage["steps"]
            rows.append(stage_rates(0 if restarted(stage) else a, b - a, base))
        at_base = [row.get(1.0, 0) for row in rows]
        result[name] = {"stages": rows, "at_base": at_base}
        print(
            f"{name}: at the base rate {' + '.join(map(str, at_base))} = "
            f"{sum(at_base):,} steps (the paper's run: 580,000)"
        )
        for (a, b), row in zip((s["steps"] for s in stages), rows, strict=True):
            print(f"  {a:,} -> {b:,}: {row}")
    return result


if __name__ == "__main__":
    main()

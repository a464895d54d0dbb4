"""Two presets, or two versions of one, on the same test images: the paired difference.

    KERAS_BACKEND=jax python -m benchmarks.paired_presets \\
        dvaepp_2nl_mnist_static@821fefd dvaepp_2nl_mnist_static [C ...] \\
        --data-dir ../shared/data [--examples 0] [--samples 1000] \\
        [--split test] [--save per_example.npz]

With more than two presets, each is evaluated once and every pair's
difference (the later named minus the earlier) is printed; `--save` keeps
the per-image figures (one array a preset, and the rows) for other pairs.

Each of A and B is a preset name, a preset folder, or `NAME@REV`: the
preset folder `zoo/NAME` as git revision REV committed it (read with
`git show` into a temporary folder, its manifest checked as `zoo.load`
always does). Both models score the same test rows (`--examples` of the
zoo's permutation rows, 0 for the whole test set) at the same K, each with
the log Z its metadata records, so the per-image differences B − A give a
paired standard error: far smaller than the two figures' own, which are
dominated by how images differ. `--split valid` scores the validation
images instead (the rows `training.evaluation_rows` draws, as a recipe's
`selection` does, so `--examples` of a recipe's `selection` gives its
rows). Not included in it: each log Z's own
error (its AIS bracket), a shared offset of every image's figure, and the
bias of a finite K, which is similar for two models of one recipe. The
presets must share a dataset.
"""

import argparse
import json
import pathlib
import subprocess
import tempfile

import numpy as np

from keras_dvae import evaluation, recipes, training, zoo


def paired_difference(a, b):
    """Mean of b − a and its standard error over the paired examples."""
    diff = np.asarray(b, "float64") - np.asarray(a, "float64")
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


def all_pairs(per_example):
    """[(a, b, mean of b − a, its standard error)] for every pair of the
    dict {name: per-image figures}, a named before b.

    Example:

    >>> [(a, b, round(m, 3)) for a, b, m, _ in all_pairs(
    ...     {"x": [0.0, 1.0], "y": [1.0, 2.0], "z": [0.0, 3.0]})]
    [('x', 'y', 1.0), ('x', 'z', 1.0), ('y', 'z', 0.0)]
    """
    names = list(per_example)
    return [
        (a, b, *paired_difference(per_example[a], per_example[b]))
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    ]


def materialise(spec, workdir):
    """The preset folder of `spec`: `NAME@REV` written from git into
    `workdir`, anything else as `zoo.preset_dir` resolves it."""
    if "@" not in spec:
        return zoo.preset_dir(spec)
    name, rev = spec.rsplit("@", 1)
    root = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    listing = subprocess.run(
        ["git", "ls-tree", "--name-only", rev, f"zoo/{name}/"],
        check=True,
        capture_output=True,
        text=True,
        cwd=root,
    ).stdout.split()
    if not listing:
        raise ValueError(f"Revision {rev} has no preset zoo/{name}. Received: {spec!r}")
    folder = pathlib.Path(workdir) / f"{name}@{rev}"
    folder.mkdir(parents=True)
    for path in listing:
        blob = subprocess.run(
            ["git", "show", f"{rev}:{path}"], check=True, capture_output=True, cwd=root
        ).stdout
        (folder / pathlib.PurePosixPath(path).name).write_bytes(blob)
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "presets", nargs="+", help="two or more: preset names, folders, NAME@REV"
    )
    parser.add_argument("--data-dir")
    parser.add_argument("--examples", type=int, default=0, help="0: all the rows")
    parser.add_argument("--split", choices=("test", "valid"), default="test")
    parser.add_argument("--samples", type=int, default=1000, help="K")
    parser.add_argument("--save", help="an .npz of the per-image figures and rows")
    args = parser.parse_args(argv)
    specs = args.presets
    if len(specs) < 2 or len(set(specs)) < len(specs):
        raise ValueError(
            f"Give two or more different presets. Received: {' '.join(specs)}"
        )
    with tempfile.TemporaryDirectory() as workdir:
        folders = [materialise(spec, workdir) for spec in specs]
        metadata = [json.loads((f / "metadata.json").read_text()) for f in folders]
        found = sorted({m["dataset"] for m in metadata})
        if len(found) > 1:
            raise ValueError(
                "The presets must share a dataset. Received: "
                + ", ".join(
                    f"{spec!r} on {m['dataset']!r}"
                    for spec, m in zip(specs, metadata, strict=True)
                )
            )
        names = [f.name.split("@")[0] for f in folders]
        known = [n for n in names if n in recipes.list_recipes()]
        if not known:
            raise ValueError(
                "No preset folder is named after a recipe, so the test data "
                f"cannot be loaded. Received: {', '.join(map(repr, specs))}"
            )
        data = training.load_data(known[0], args.data_dir)
        images = data.x_test if args.split == "test" else data.x_valid
        if images is None or not len(images):
            raise ValueError(
                f"The dataset {data.name!r} has no validation split. "
                f"Received: --split {args.split}"
            )
        rows = training.evaluation_rows(len(images), args.examples or None)
        x = images[rows]
        per_example = {}
        for spec, folder, meta in zip(specs, folders, metadata, strict=True):
            model = zoo.load(str(folder))
            recorded = (meta.get("log_partition") or {}).get("log_z", "auto")
            report = evaluation.log_likelihood_report(
                model, x, num_samples=args.samples, log_partition=recorded, verbose=0
            )
            per_example[spec] = report.per_example
            log_z = (report.log_partition or {}).get("log_z")
            print(
                json.dumps(
                    {
                        "preset": spec,
                        f"{args.split}_ll": round(report.mean, 3),
                        "standard_error": round(report.standard_error, 3),
                        "log_z": log_z,
                    }
                ),
                flush=True,
            )
            if args.save:
                np.savez(
                    args.save,
                    rows=rows,
                    num_samples=args.samples,
                    **{
                        f"preset_{i}": per_example[s] for i, s in enumerate(per_example)
                    },
                    specs=np.array(list(per_example)),
                )
    where = f"(paired s.e. over {len(rows)} {args.split} images; K={args.samples})"
    for a, b, mean, error in all_pairs(per_example):
        label = "B − A" if len(specs) == 2 else f"{b} − {a}"
        print(f"{label}: {mean:+.3f} ± {error:.3f} nats {where}")


if __name__ == "__main__":
    main()

"""How far a preset's figure falls from its training images to held-out ones.

    KERAS_BACKEND=jax python -m benchmarks.generalisation_gap \\
        dvaepp_2nl_mnist_static dvaepp_2nl_mnist_static@821fefd \\
        --data-dir ../shared/data [--examples 2000] [--samples 100]

Each preset (a name, a folder, or `NAME@REV` as `benchmarks.paired_presets`
reads it) scores the same `--examples` rows of its dataset's train,
validation and test splits (each split's
`training.evaluation_rows`: the zoo's fixed permutation rule) at K =
`--samples`, with the log Z its metadata records. Printed per preset: the
three figures with their standard errors over the images, and train −
test. A model that has overfit scores its training images higher than
the held-out ones; the gap is what model selection on validation data
(`recipes` `selection`) can act on. The splits hold different images, so
the gaps carry each figure's standard error.
"""

import argparse
import json
import tempfile

from benchmarks.paired_presets import materialise
from keras_dvae import evaluation, recipes, training, zoo

SPLITS = ("train", "valid", "test")


def gaps(model, data, log_z, examples, num_samples):
    """{split: (mean, standard error)} of `model` on `examples` rows of each
    split of `data` that it has."""
    result = {}
    for split in SPLITS:
        x = getattr(data, f"x_{split}")
        if x is None:
            continue
        if data.dynamic_binarization and split == "train":
            raise ValueError(
                f"{data.name} is binarised afresh each epoch: its training "
                "images have no fixed binary version to score."
            )
        rows = training.evaluation_rows(len(x), examples)
        report = evaluation.log_likelihood_report(
            model, x[rows], num_samples=num_samples, log_partition=log_z, verbose=0
        )
        result[split] = (report.mean, report.standard_error)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="+", help="preset names, folders, NAME@REV")
    parser.add_argument("--data-dir")
    parser.add_argument("--examples", type=int, default=2000, help="rows a split")
    parser.add_argument("--samples", type=int, default=100, help="K")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        for spec in args.presets:
            folder = materialise(spec, workdir)
            name = folder.name.split("@")[0]
            if name not in recipes.list_recipes():
                raise ValueError(
                    f"The preset folder {str(folder)!r} is not named after a "
                    f"recipe, so its data cannot be loaded. Received: {spec!r}"
                )
            metadata = json.loads((folder / "metadata.json").read_text())
            log_z = (metadata.get("log_partition") or {}).get("log_z", "auto")
            data = training.load_data(name, args.data_dir)
            found = gaps(
                zoo.load(str(folder)), data, log_z, args.examples, args.samples
            )
            line = {s: [round(m, 2), round(e, 2)] for s, (m, e) in found.items()}
            if "train" in found and "test" in found:
                line["train_minus_test"] = round(
                    found["train"][0] - found["test"][0], 2
                )
            print(json.dumps({"preset": spec, **line}), flush=True)


if __name__ == "__main__":
    main()

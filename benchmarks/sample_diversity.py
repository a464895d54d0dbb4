"""Class histogram of each MNIST preset's samples under a pixel classifier.

    python -m benchmarks.sample_diversity --data-dir ../shared/data \\
        [--num-samples 1000] [--out benchmarks/results/sample_diversity.json]

A model that draws mostly a few digits has a low log-likelihood cost for it
but is a poor generator; the zoo's cards showed `dvaepp_small_mnist` (then
called `dvaepp_mnist`) drawing mostly 7, 9 and 1. Each MNIST preset draws
`--num-samples` images (`model.generate`: fresh Gibbs chains for an RBM
prior), binarised by sampling each pixel from its probability (the model's
own binary draws). A multinomial logistic regression on the binarised MNIST
training images (test accuracy printed) labels them. Printed per preset:
the share of each class, the entropy of that histogram against ln 10 =
2.303 (the test set's own is 2.30), and the classes below 2 %.
"""

import argparse
import math

import numpy as np

#: The zoo's datasets whose samples the MNIST classifier can label.
DATASETS = ("mnist", "mnist_static")


def mnist_presets():
    """Every zoo preset trained on an MNIST set (their metadata's dataset)."""
    from keras_dvae import zoo

    return [
        name
        for name in zoo.list_presets()
        if zoo.get_metadata(name)["dataset"] in DATASETS
    ]


def classifier(data_dir, seed):
    from sklearn.linear_model import LogisticRegression

    from keras_dvae import datasets

    data = datasets.load("mnist", data_dir)
    rng = np.random.default_rng(seed)
    x = (rng.random(data.x_train.shape) < data.x_train).astype("float32")
    x_test = (rng.random(data.x_test.shape) < data.x_test).astype("float32")
    model = LogisticRegression(max_iter=200, C=0.05)
    model.fit(x[:20000], data.y_train[:20000])
    accuracy = float((model.predict(x_test) == data.y_test).mean())
    test_shares = np.bincount(data.y_test, minlength=10) / len(data.y_test)
    return model, accuracy, test_shares


def share_cells(shares):
    """A row's class shares as Markdown cells: "10% | 12% | … | 9%"."""
    return " | ".join(f"{s:.0%}" for s in shares)


def entropy(shares):
    shares = shares[shares > 0]
    return float(-(shares * np.log(shares)).sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--presets", nargs="+", help="default: every MNIST preset of the zoo"
    )
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    import keras

    from keras_dvae import zoo

    keras.utils.set_random_seed(args.seed)
    model, accuracy, test_shares = classifier(args.data_dir, args.seed)
    print(f"classifier: test accuracy {accuracy:.3f} on binarised MNIST")
    print("| preset | " + " | ".join(str(c) for c in range(10)) + " | entropy | rare |")
    print("| --- |" + " --- |" * 12)
    rng = np.random.default_rng(args.seed)
    results = {
        "classifier_test_accuracy": accuracy,
        "test_set_entropy": entropy(test_shares),
        "num_samples": args.num_samples,
        "presets": {},
    }
    for name in args.presets or mnist_presets():
        preset = zoo.load(name)
        probabilities = np.asarray(preset.generate(args.num_samples))
        images = (rng.random(probabilities.shape) < probabilities).astype("float32")
        labels = model.predict(images.reshape(len(images), -1))
        shares = np.bincount(labels, minlength=10) / len(labels)
        rare = [int(c) for c in np.flatnonzero(shares < 0.02)]
        results["presets"][name] = {
            "shares": shares.round(4).tolist(),
            "entropy": entropy(shares),
            "rare_classes": rare,
        }
        cells = share_cells(shares)
        print(f"| `{name}` | {cells} | {entropy(shares):.2f} | {rare or '-'} |")
    print(f"(ln 10 = {math.log(10):.3f}; the test set: {entropy(test_shares):.3f})")
    if args.out:
        from keras_dvae.utils import files

        files.write_json(args.out, results)


if __name__ == "__main__":
    main()

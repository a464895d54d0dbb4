"""Few-label classification on frozen (or fine-tuned) encoder features.

An unsupervised model is trained on all training images without labels.
Then `n` labelled examples (n/10 per class, drawn at random) train a
classifier, which is scored on the whole test set. Results are averaged
over `--draws` random labelled sets. Features:

- "pixels": the input itself.
- "pca": the top-`bits` principal components (fitted on all training
  images), the same size as the codes.
- "dvaepp_probabilities" / "dvaepp_codes": a DVAE++ encoder with `bits`
  binary units, through `model.feature_extractor(...)`.
- "gaussian_vae_mean": μ(x) of the continuous VAE of the same size.
- "dvaepp_finetuned": `keras.Sequential([model.feature_extractor(),
  Dense(classes, softmax)])` trained end to end on the labelled examples
  (Adam 1e-3, `--finetune-steps` steps of 50, 300 by default), restarting
  from the unsupervised weights for every draw.

Logistic regression (multinomial, L2) picks its inverse regularisation C
from `CS` by stratified k-fold cross-validation on the labelled examples
only (k = min(5, n/classes)); the features are used as they are.

    python -m applications.few_label --dataset mnist_static \\
        --data-dir ../shared/data --bits 64 --epochs 10 \\
        --out applications/results/few_label_mnist_static.json
"""

import math
import sys
import time
import warnings

import keras
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold

from applications import baselines, common, data, training

FEATURES = (
    "pixels",
    "pca",
    "dvaepp_probabilities",
    "dvaepp_codes",
    "gaussian_vae_mean",
    "dvaepp_finetuned",
)
CS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
FINETUNE_STEPS = 300
FINETUNE_BATCH = 50
FINETUNE_LEARNING_RATE = 1e-3


def labelled_rows(labels, n, seed):
    """`n` random rows, `n // classes` of each class (the rest at random)."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per_class = n // len(classes)
    rows = [
        rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
        for c in classes
    ]
    rows = np.concatenate(rows) if per_class else np.array([], np.int64)
    rest = np.setdiff1d(np.arange(len(labels)), rows)
    extra = rng.choice(rest, n - len(rows), replace=False)
    return np.sort(np.concatenate([rows, extra]).astype(np.int64))


def logistic_regression_accuracy(f_train, y_train, f_test, y_test, seed):
    """Test accuracy of L2 logistic regression with C chosen by CV."""
    folds = max(2, min(5, int(np.bincount(y_train).min())))
    classifier = LogisticRegressionCV(
        Cs=list(CS),
        l1_ratios=(0.0,),
        cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
        scoring="accuracy",
        max_iter=1000,
        use_legacy_attributes=False,
    )
    with warnings.catch_warnings():
        # Weak regularisation on separable pixels may stop at max_iter;
        # the chosen C is the one that matters.
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(f_train, y_train)
    return float(classifier.score(f_test, y_test)), float(classifier.C_)


def finetune_accuracy(
    vae, weights, x_train, y_train, x_test, y_test, classes, steps=FINETUNE_STEPS
):
    """Test accuracy after `steps` steps of fine-tuning with a softmax layer."""
    vae.set_weights(weights)
    classifier = keras.Sequential(
        [
            vae.feature_extractor("probabilities"),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    classifier.compile(
        keras.optimizers.Adam(FINETUNE_LEARNING_RATE),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    epochs = math.ceil(steps / math.ceil(len(x_train) / FINETUNE_BATCH))
    classifier.fit(
        x_train, y_train, batch_size=FINETUNE_BATCH, epochs=epochs, verbose=0
    )
    _, accuracy = classifier.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    vae.set_weights(weights)
    return float(accuracy)


def features(task, args, wanted):
    """{name: (train features, test features)}, plus models and their info."""
    out, info, models = {}, {}, {}
    if "pixels" in wanted:
        out["pixels"] = (task.x_train, task.x_test)
    if "pca" in wanted:
        out["pca"] = tuple(
            baselines.pca_features(task.x_train, x, args.bits, seed=args.seed)
            for x in (task.x_train, task.x_test)
        )
    for kind in ("dvaepp", "gaussian_vae"):
        if not any(name.startswith(kind) for name in wanted):
            continue
        model = training.make_hashing_model(
            kind, task.input_dim, args.bits, quick=args.quick, seed=args.seed
        )
        key = training.cache_key(
            task.name, kind, args.bits, args.epochs, args.seed, args.quick
        )
        info[kind] = training.train(
            model, task, args.epochs, seed=args.seed, cache_dir=args.cache_dir, key=key
        )
        models[kind] = model
        if kind == "gaussian_vae":
            out["gaussian_vae_mean"] = (
                model.encode(task.x_train)[0],
                model.encode(task.x_test)[0],
            )
            continue
        for output in ("probabilities", "codes"):
            if f"dvaepp_{output}" in wanted:
                extractor = model.feature_extractor(output)
                out[f"dvaepp_{output}"] = tuple(
                    extractor.predict(x, batch_size=1000, verbose=0)
                    for x in (task.x_train, task.x_test)
                )
    return out, info, models


def table(results, labels, names):
    header = "| features | dims | " + " | ".join(f"{n} labels" for n in labels)
    lines = [header + " |", "| --- | ---: |" + " --- |" * len(labels)]
    for name in names:
        cells = [common.mean_std(results[name][str(n)]["accuracies"]) for n in labels]
        lines.append(
            f"| {name} | {results[name]['dims']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--bits", type=int, default=64, help="units of the features")
    p.add_argument("--labels", type=int, nargs="+", default=[100, 1000])
    p.add_argument("--draws", type=int, default=3, help="random labelled sets")
    p.add_argument("--features", nargs="+", default=list(FEATURES))
    p.add_argument("--finetune-steps", type=int, default=FINETUNE_STEPS)
    args = p.parse_args(argv)
    bad = sorted(set(args.features) - set(FEATURES))
    if bad:
        p.error(f"unknown features {bad}; choose from {FEATURES}")
    if args.quick:
        args.epochs = 1
        args.finetune_steps = min(args.finetune_steps, 30)
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    task = data.load(args.dataset, args.data_dir)
    classes = int(task.y_train.max()) + 1
    feats, training_info, models = features(task, args, args.features)
    names = [name for name in args.features if name != "dvaepp_finetuned"]
    results = {
        name: {"dims": int(feats[name][0].shape[1]), "seconds": 0.0} for name in names
    }
    finetune = "dvaepp_finetuned" in args.features
    if finetune:
        names.append("dvaepp_finetuned")
        vae = models["dvaepp"]
        weights = vae.get_weights()
        results["dvaepp_finetuned"] = {"dims": args.bits, "seconds": 0.0}
    for n in args.labels:
        for name in names:
            results[name][str(n)] = {"accuracies": [], "C": []}
        for draw in range(args.draws):
            rows = labelled_rows(task.y_train, n, seed=args.seed + draw)
            y = task.y_train[rows]
            for name in names:
                begin = time.perf_counter()
                entry = results[name][str(n)]
                if name == "dvaepp_finetuned":
                    accuracy = finetune_accuracy(
                        vae,
                        weights,
                        task.x_train[rows],
                        y,
                        task.x_test,
                        task.y_test,
                        classes,
                        steps=args.finetune_steps,
                    )
                else:
                    f_train, f_test = feats[name]
                    accuracy, c = logistic_regression_accuracy(
                        f_train[rows], y, f_test, task.y_test, seed=args.seed + draw
                    )
                    entry["C"].append(c)
                entry["accuracies"].append(round(accuracy, 5))
                results[name]["seconds"] += time.perf_counter() - begin
        for name in names:
            accuracies = results[name][str(n)]["accuracies"]
            results[name][str(n)]["mean"] = round(float(np.mean(accuracies)), 5)
            results[name][str(n)]["std"] = round(float(np.std(accuracies)), 5)
            print(
                f"{name:>21} {n:5d} labels: accuracy {common.mean_std(accuracies)}",
                flush=True,
            )
    for name in names:
        results[name]["seconds"] = round(results[name]["seconds"], 1)
    output = common.finish(
        {
            "dataset": task.description,
            "training": training_info,
            "results": results,
            "table": table(results, args.labels, names),
        },
        "applications.few_label",
        args,
        argv,
        start,
    )
    return output


if __name__ == "__main__":
    main()

"""Semantic hashing: Hamming-ranking retrieval with binary codes.

Test images are the queries and the training set is the database. Every
method maps an image to `bits` binary digits. The database is ranked by
Hamming distance to the query, with ties broken by database index
(`applications.metrics`). The module reports mean average precision over
that ranking and precision@100 (relevant = same class). Methods:

- "dvaepp": the mode codes of a DVAE++ encoder (one group of `bits`
  units, RBM prior), read through `model.feature_extractor("codes")`.
- "dvaepp_local": the same with `LocalDVAEPP`, a DVAE++ whose decoder
  has a layer of 64 Gaussian latents below the code (it takes the pixel
  detail, so the code keeps the coarse shape); off by default.
- "dvae": the same with Rolfe's DVAE (spike-and-exponential); off by
  default.
- "gaussian_vae": 1[μ(x) > 0] for a continuous VAE with `bits` Gaussian
  units and the same networks and training.
- "lsh": signs of random Gaussian projections of the centred pixels.
- "pca_sign": signs of the top-`bits` principal components.
- "pca_itq": PCA followed by the ITQ rotation (50 iterations).
- `--preset NAME`: the mode codes of a pretrained zoo preset's encoder
  (`model.encode(x)[0]`, e.g. the 16 global RBM units of a convolutional
  DVAE++), at the preset's own code length; nothing is trained.

    python -m applications.semantic_hashing --dataset mnist_static \\
        --data-dir ../shared/data --bits 16 32 64 --epochs 10 \\
        --out applications/results/semantic_hashing_mnist_static.json
    python -m applications.semantic_hashing --dataset mnist_static \\
        --data-dir ../shared/data --bits 16 --methods pca_itq \\
        --preset dvaepp_small_mnist
"""

import sys
import time

import keras
import numpy as np

from applications import baselines, common, data, metrics, training
from keras_dvae import zoo

METHODS = (
    "dvaepp",
    "dvaepp_local",
    "dvae",
    "gaussian_vae",
    "lsh",
    "pca_sign",
    "pca_itq",
)
DEFAULT_METHODS = ("dvaepp", "gaussian_vae", "lsh", "pca_sign", "pca_itq")
ITQ_ITERATIONS = 50
TOP_K = 100


def hash_codes(method, task, bits, args):
    """(database codes, query codes, info) of one method at `bits` bits."""
    info = {}
    if method in training.HASHING_KINDS:
        model = training.make_hashing_model(
            method, task.input_dim, bits, quick=args.quick, seed=args.seed
        )
        key = training.cache_key(
            task.name, method, bits, args.epochs, args.seed, args.quick
        )
        info["training"] = training.train(
            model, task, args.epochs, seed=args.seed, cache_dir=args.cache_dir, key=key
        )
        start = time.perf_counter()
        if method == "gaussian_vae":
            train_codes = (model.encode(task.x_train)[0] > 0).astype(np.uint8)
            test_codes = (model.encode(task.x_test)[0] > 0).astype(np.uint8)
        else:
            extractor = model.feature_extractor("codes")
            train_codes, test_codes = (
                extractor.predict(x, batch_size=1000, verbose=0).astype(np.uint8)
                for x in (task.x_train, task.x_test)
            )
        info["encode_seconds"] = round(time.perf_counter() - start, 1)
        return train_codes, test_codes, info
    start = time.perf_counter()
    if method == "lsh":
        hasher = baselines.RandomProjectionLSH(bits, seed=args.seed)
    else:
        itq = method == "pca_itq"
        hasher = baselines.PCAITQ(
            bits,
            iterations=ITQ_ITERATIONS if itq else 0,
            random_start=itq,
            seed=args.seed,
        )
    hasher.fit(task.x_train)
    if method != "lsh":
        info["quantization_loss"] = round(hasher.losses[-1], 4)
    train_codes, test_codes = hasher.encode(task.x_train), hasher.encode(task.x_test)
    info["fit_seconds"] = round(time.perf_counter() - start, 1)
    return train_codes, test_codes, info


def preset_codes(name, task, batch_size=500):
    """(database codes, query codes, info) from zoo preset `name`'s encoder."""
    model = zoo.load(name)
    if model.input_dim != task.input_dim:
        raise ValueError(
            f"Preset {name!r} takes {model.input_dim} values an image but the "
            f"{task.name!r} images have {task.input_dim}."
        )
    start = time.perf_counter()
    train_codes, test_codes = (
        np.concatenate(
            [
                model.encode(x[i : i + batch_size])[0]
                for i in range(0, len(x), batch_size)
            ]
        ).astype(np.uint8)
        for x in (task.x_train, task.x_test)
    )
    info = {
        "preset": name,
        "preset_dataset": zoo.get_metadata(name).get("dataset"),
        "encode_seconds": round(time.perf_counter() - start, 1),
    }
    return train_codes, test_codes, info


def query_rows(num_test, num_queries, seed):
    """All test rows, or a sorted random subset of `num_queries` of them."""
    if num_queries is None or num_queries >= num_test:
        return np.arange(num_test)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_test, num_queries, replace=False))


def table(results, bits_list, methods):
    """The markdown table: one row a method, mAP / P@100 per code length."""
    header = "| method | " + " | ".join(f"{b} bits mAP / P@100" for b in bits_list)
    lines = [header + " |", "| --- |" + " --- |" * len(bits_list)]
    for method in methods:
        cells = []
        for bits in bits_list:
            r = results[method].get(str(bits))
            cells.append(f"{r['map']:.4f} / {r['precision_at_100']:.4f}" if r else "—")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--bits", type=int, nargs="+", default=[16, 32, 64])
    p.add_argument("--methods", nargs="*", default=list(DEFAULT_METHODS))
    p.add_argument(
        "--preset",
        default=None,
        help="also hash with a zoo preset's encoder (name or folder)",
    )
    p.add_argument(
        "--num-queries",
        type=int,
        default=None,
        help="random test rows used as queries (default: all)",
    )
    args = p.parse_args(argv)
    bad = sorted(set(args.methods) - set(METHODS))
    if bad:
        p.error(f"unknown methods {bad}; choose from {METHODS}")
    if args.quick:
        args.epochs = 1
    keras.utils.set_random_seed(args.seed)
    start = time.perf_counter()
    task = data.load(args.dataset, args.data_dir)
    rows = query_rows(len(task.x_test), args.num_queries, args.seed)
    k = min(TOP_K, len(task.x_train))
    runs = [(method, bits) for method in args.methods for bits in args.bits]
    if args.preset:
        runs.append((f"preset:{args.preset}", None))
    results = {}
    for method, bits in runs:
        if bits is None:
            train_codes, test_codes, info = preset_codes(args.preset, task)
            bits = train_codes.shape[1]
        else:
            train_codes, test_codes, info = hash_codes(method, task, bits, args)
        start_eval = time.perf_counter()
        m = metrics.retrieval_metrics(
            test_codes[rows], task.y_test[rows], train_codes, task.y_train, k=k
        )
        results.setdefault(method, {})[str(bits)] = {
            "map": round(m["map"], 5),
            f"precision_at_{TOP_K}": round(m["precision_at_k"], 5),
            "ones_fraction": round(float(train_codes.mean()), 4),
            "distinct_database_codes": int(len(np.unique(train_codes, axis=0))),
            "eval_seconds": round(time.perf_counter() - start_eval, 1),
            **info,
        }
        print(
            f"{method:>13} {bits:3d} bits: mAP {m['map']:.4f}  "
            f"P@{k} {m['precision_at_k']:.4f}",
            flush=True,
        )
    bits_list = sorted({int(b) for r in results.values() for b in r})
    output = common.finish(
        {
            "dataset": task.description,
            "num_queries": int(len(rows)),
            "database_size": int(len(task.x_train)),
            "results": results,
            "table": table(results, bits_list, list(results)),
        },
        "applications.semantic_hashing",
        args,
        argv,
        start,
    )
    return output


if __name__ == "__main__":
    main()

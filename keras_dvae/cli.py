"""The `keras-dvae` command line.

keras-dvae train            train on the embedded digits data, print
                            metrics, write weights, metrics.json and a PNG
"""

import argparse
import json
import os
import sys
import time


def _grid_png(rows, path, side=8, scale=4):
    """Writes rows of images (each a list of flat side×side arrays) as a PNG."""
    import numpy as np
    from PIL import Image

    pad = 1
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    canvas = np.ones((n_rows * (side + pad) + pad, n_cols * (side + pad) + pad))
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            top, left = pad + i * (side + pad), pad + j * (side + pad)
            canvas[top : top + side, left : left + side] = 1.0 - np.reshape(
                image, (side, side)
            )
    image = Image.fromarray((canvas * 255).astype("uint8"))
    image.resize((image.width * scale, image.height * scale), Image.NEAREST).save(path)


def train(args):
    import keras
    import numpy as np

    from keras_dvae import callbacks, datasets, models

    keras.utils.set_random_seed(args.seed)
    (x_train, _), (x_test, _) = datasets.load_digits()
    steps = args.epochs * int(np.ceil(len(x_train) / args.batch_size))
    model = models.BernoulliVAE(
        input_dim=x_train.shape[1],
        num_latents=args.latents,
        hidden_units=(args.hidden,) * 2,
        smoothing=args.smoothing,
        seed=args.seed,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(
            callbacks.reference_learning_rate(steps, args.learning_rate), epsilon=1e-3
        )
    )
    os.makedirs(args.output_dir, exist_ok=True)
    print(
        f"Training BernoulliVAE ({args.smoothing}, {args.latents} latents) on digits: "
        f"{len(x_train)} train / {len(x_test)} test, {args.epochs} epochs, "
        f"backend {keras.backend.backend()}"
    )
    start = time.time()
    model.fit(
        x_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=2 if args.verbose else 0,
        callbacks=[
            callbacks.KLWarmup(steps=max(1, int(0.3 * steps))),
            keras.callbacks.ModelCheckpoint(
                os.path.join(args.output_dir, "checkpoint.weights.h5"),
                save_weights_only=True,
            ),
        ],
    )
    seconds = time.time() - start
    test = model.evaluate(x_test, batch_size=len(x_test), verbose=0, return_dict=True)
    train_ll = model.log_likelihood(x_train[:300], num_samples=args.num_samples)
    test_ll = model.log_likelihood(x_test, num_samples=args.num_samples, verbose=0)
    metrics = {
        "dataset": "digits (scikit-learn, 8x8, binarised at 0.5)",
        "model": "BernoulliVAE",
        "smoothing": args.smoothing,
        "num_latents": args.latents,
        "epochs": args.epochs,
        "steps": steps,
        "train_seconds": round(seconds, 1),
        "backend": keras.backend.backend(),
        "test_elbo_binary_limit": round(float(test["elbo"]), 3),
        "test_log_likelihood": round(float(np.mean(test_ll)), 3),
        "train_log_likelihood_first300": round(float(np.mean(train_ll)), 3),
        "num_importance_samples": args.num_samples,
    }
    model.save_weights(os.path.join(args.output_dir, "model.weights.h5"))
    with open(os.path.join(args.output_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    samples = keras.ops.convert_to_numpy(model.generate(16, seed=args.seed))
    recon = keras.ops.convert_to_numpy(model.reconstruct(x_test[:16]))
    png = os.path.join(args.output_dir, "samples.png")
    _grid_png([list(samples), list(x_test[:16]), list(recon)], png)
    for key, value in metrics.items():
        print(f"  {key}: {value}")
    print(f"Wrote {png} (rows: prior samples, test digits, reconstructions)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="keras-dvae",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model on the embedded digits data")
    t.add_argument("--epochs", type=int, default=150)
    t.add_argument("--batch-size", type=int, default=100)
    t.add_argument("--latents", type=int, default=32)
    t.add_argument("--hidden", type=int, default=128)
    t.add_argument("--smoothing", default="overlapping_exponential")
    t.add_argument("--learning-rate", type=float, default=3e-3)
    t.add_argument("--num-samples", type=int, default=1000, help="importance samples K")
    t.add_argument("--output-dir", default="outputs/digits")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "train":
        return train(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())

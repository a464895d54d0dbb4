"""The first training steps of DVAE++ Table 3's 16-group model, with the
decoder's local prior and posterior kernels as initialised now (1 % of
Glorot's bound) and as they were (Glorot-uniform).

    KERAS_BACKEND=jax python -m benchmarks.conv_start --data-dir ../shared/data

Recipe `dvaepp_caltech101_silhouettes` (its schedules laid over 4,100
steps), batch 100, seed 0; prints the KL and the reconstruction term of
the first step and the last of `--steps`.
"""

import argparse
import json

import keras

from keras_dvae import recipes, training
from keras_dvae.layers.host_init import HostGlorotUniform


class _Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rows = []

    def on_train_batch_end(self, batch, logs=None):
        self.rows.append({k: float(logs[k]) for k in ("kl", "reconstruction")})


def first_steps(data, recipe, glorot, steps, seed=0):
    model = training.build_model(recipe, data, seed=seed)
    training.adapt(model, data, seed=seed)
    if glorot:  # the initialisation before 2026-12-01
        decoder = model.decoder
        for k, conv in enumerate(decoder.local_priors + decoder.local_posteriors):
            conv.kernel.assign(HostGlorotUniform(seed=seed + k)(conv.kernel.shape))
    training.compile_model(model, recipe, 4100)
    record = _Record()
    model.fit(
        training.training_batches(data, recipe["batch_size"], seed),
        epochs=1,
        steps_per_epoch=steps,
        verbose=0,
        callbacks=[record],
    )
    return {"first": record.rows[0], "last": record.rows[-1]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--steps", type=int, default=41)
    args = parser.parse_args(argv)
    recipe = recipes.get("dvaepp_caltech101_silhouettes")
    data = training.load_data(recipe, args.data_dir)
    result = {
        init: first_steps(data, recipe, init == "glorot", args.steps)
        for init in ("now", "glorot")
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

"""Converts zoo presets made before the parts redesign to its variable layout.

The redesign (one `DiscreteVAE` of encoder, prior, decoder and likelihood
parts) moved variables: `input_mean` into the encoder, `log_partition` and
the prior logits into the prior, the conv layers into the encoder's trunk
and the decoder, and renamed the constructor arguments. The numbers are
unchanged. Two steps, the first with the old code:

    git worktree add /tmp/oldmain <commit before the redesign>
    cd /tmp/oldmain && KERAS_DVAE_ZOO=$REPO/zoo PYTHONPATH=. python \
        $REPO/scripts/convert_presets.py dump NAME /tmp/zoo_old   # per preset
    cd $REPO && python scripts/convert_presets.py convert NAME /tmp/zoo_old

`dump` writes every variable of the old model as `{path: array}`;
`convert` translates config.json, builds the new model, matches each
variable by its path with the model-specific parts removed (auto-numbered
layer names compared by order of creation) and shapes checked, writes the
new `model.weights.h5` and records its sha256 in metadata.json.
"""

import collections
import json
import os
import re
import sys

import numpy as np

_RENAMES = {
    "global_encoder": "encoder",
    "stem": "stem",
    "encoder_block_0": "block_0",
    "encoder_block_1": "block_1",
    "down_3": "down_2",
    "prior_logits": "prior/logits",
    "log_partition": "prior/log_partition",
}
# Part and network names are dropped, and the first group's network too, so
# that an old one-network encoder ("encoder") meets the new "encoder_0";
# what remains is matched by order of creation (encoder before decoder).
_PART_NAMES = {"encoder", "encoder_0", "trunk", "decoder", "network", "likelihood"}


def canonical(path, model_name):
    parts = path.split("/")
    if parts[0] == model_name:
        parts = parts[1:]
    out = []
    for i, p in enumerate(parts):
        p = re.sub(r"^global_encoder_(\d+)$", r"encoder_\1", p)
        p = _RENAMES.get(p, p)
        if p in _PART_NAMES and i < len(parts) - 1:
            continue
        out.append(re.sub(r"^(dense|batch_normalization)_\d+$", r"\1", p))
    return "/".join(out)


def new_config(old):
    """The class name and constructor arguments after the redesign."""
    name, c = old["class_name"], dict(old["config"])
    if name == "ConvDVAEPP":
        for a, b in (
            ("global_latents", "num_latents"),
            ("global_groups", "num_groups"),
            ("global_prior", "prior"),
            ("output_distribution", "likelihood"),
        ):
            c[b] = c.pop(a)
        c["hidden_units"] = [c.pop("global_units")]
    else:
        c["image_shape"] = [c.pop("input_dim")]
        if "latents_per_group" in c:
            c["num_latents"] = c.pop("latents_per_group") * c["num_groups"]
        if "structure" in c:
            c["hidden_units"] = c.pop("structure")
    return {**old, "config": c}


def dump(name, out_dir):
    from keras_dvae import zoo

    model = zoo.load(name)
    arrays = {v.path: np.asarray(v.numpy()) for v in model.weights}
    np.savez(os.path.join(out_dir, f"{name}.npz"), __model_name__=model.name, **arrays)


def convert(name, dump_dir):
    import keras

    from keras_dvae.zoo import loading

    folder = loading.preset_dir(name)
    with open(folder / "config.json") as f:
        config = new_config(json.load(f))
    old = np.load(os.path.join(dump_dir, f"{name}.npz"))
    model_name = str(old["__model_name__"]) if "__model_name__" in old else None
    model = keras.saving.deserialize_keras_object(config)
    model_name = model_name or model.name
    groups = collections.defaultdict(list)
    for path in old.files:
        if path != "__model_name__":
            groups[canonical(path, model_name)].append(old[path])
    for variable in model.weights:
        key = canonical(variable.path, model.name)
        if not groups.get(key):
            if key.endswith("log_partition") or key == "training_step":
                continue  # set from metadata below
            raise ValueError(f"{name}: no old variable for {variable.path} ({key})")
        value = groups[key].pop(0)
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{name}: shape mismatch at {variable.path}")
        variable.assign(value)
    left = {k: len(v) for k, v in groups.items() if v and "log_partition" not in k}
    if left:
        raise ValueError(f"{name}: old variables left unused: {left}")
    with open(folder / "metadata.json") as f:
        metadata = json.load(f)
    iterations = metadata.get("training", {}).get("iterations")
    if iterations:
        model.training_step.assign(float(iterations))
    if model.prior.has_log_partition and metadata.get("log_partition"):
        model.prior.set_log_partition(metadata["log_partition"]["log_z"])
    weights = folder / "model.weights.h5"
    tmp = folder / "model.tmp.weights.h5"
    model.save_weights(tmp)
    os.replace(tmp, weights)
    config = {**keras.saving.serialize_keras_object(model)}
    config.pop("compile_config", None)
    _write_json(folder / "config.json", config)
    metadata["weights_sha256"] = loading.sha256(weights)
    _write_json(folder / "metadata.json", metadata)
    print(name, "converted:", len(model.weights), "variables")


def _write_json(path, data):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


if __name__ == "__main__":
    command, name, directory = sys.argv[1:4]
    {"dump": dump, "convert": convert}[command](name, directory)

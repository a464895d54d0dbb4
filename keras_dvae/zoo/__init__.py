"""Pretrained presets: trained models with their measured metrics.

A preset folder `<name>/` holds `config.json`, `model.weights.h5` (model
variables only), `metadata.json` (dataset, metrics with their K and log Z
method, training command, hardware, sha256 of the weights, a `ci_check`),
a model card `README.md` and `samples.png` (folders: `search_dirs`). Its
recipe is `keras_dvae.recipes.get(name)`; `python -m keras_dvae.zoo.train
NAME` retrains and exports it.

>>> from keras_dvae import models, zoo
>>> "dvaepp_2nl_mnist_static" in zoo.list_presets()
True
>>> model = models.DVAEPP.from_preset("dvaepp_2nl_mnist_static")
>>> zoo.get_metadata("dvaepp_2nl_mnist_static")["dataset"]
'mnist_static'
"""

from keras_dvae.models import vae as _vae
from keras_dvae.zoo.exporting import export, model_card, write_model_card
from keras_dvae.zoo.loading import (
    ENV_VAR,
    PACKAGE,
    get_metadata,
    list_presets,
    load,
    preset_dir,
    run_ci_check,
    search_dirs,
    sha256,
    verify_manifest,
    write_manifest,
)
from keras_dvae.zoo.loading import presets_of as _presets_of

# `Model.from_preset`, `presets` and `save_to_preset` reach the zoo through
# this registration (models sit below the zoo and never import it).
_vae.register_preset_store(_presets_of, load, export)

__all__ = [
    "ENV_VAR",
    "PACKAGE",
    "export",
    "get_metadata",
    "list_presets",
    "load",
    "model_card",
    "preset_dir",
    "run_ci_check",
    "search_dirs",
    "sha256",
    "verify_manifest",
    "write_manifest",
    "write_model_card",
]

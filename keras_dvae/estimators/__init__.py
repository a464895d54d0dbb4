"""Gradient estimators for discrete latents: one file each, one registry line.

`get(name)` makes one by name; models take the name or an instance (for
non-default arguments) as their `estimator`.

| name             | class           | decoder passes | reference                 |
| ---------------- | --------------- | -------------- | ------------------------- |
| "score_function" | `ScoreFunction` | 1              | Williams 1992; NVIL 2014  |
| "disarm"         | `DisARM`        | 2              | Dong et al. 2020          |
| "rebar"          | `REBAR`         | 4 + 2nd order  | Tucker et al. 2017        |
| "relax"          | `RELAX`         | 4 + 2nd order  | Grathwohl et al. 2018     |
| "vimco"          | `VIMCO`         | K (5)          | Mnih & Rezende 2016       |
"""

import keras

from keras_dvae.estimators.base import (
    BinaryCoding,
    CategoricalCoding,
    GradientEstimator,
    Problem,
    coding_for,
)
from keras_dvae.estimators.disarm import DisARM
from keras_dvae.estimators.rebar import REBAR, RELAX
from keras_dvae.estimators.score_function import BASELINES, ScoreFunction
from keras_dvae.estimators.vimco import VIMCO

ESTIMATORS = {
    "score_function": ScoreFunction,
    "disarm": DisARM,
    "rebar": REBAR,
    "relax": RELAX,
    "vimco": VIMCO,
}


def get(identifier, **kwargs):
    """An estimator from its name (with `kwargs`), its config, or as is.

    Raises:
        ValueError: an unknown name or an object that is no estimator.

    Example:

    >>> get("vimco", num_samples=10).num_samples
    10
    """
    if isinstance(identifier, GradientEstimator):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str) and identifier in ESTIMATORS:
        return ESTIMATORS[identifier](name="estimator", **kwargs)
    raise ValueError(
        f"`estimator` must be one of {sorted(ESTIMATORS)} or a "
        f"GradientEstimator. Received: estimator={identifier!r}"
    )


__all__ = [
    "BASELINES",
    "ESTIMATORS",
    "REBAR",
    "RELAX",
    "VIMCO",
    "BinaryCoding",
    "CategoricalCoding",
    "DisARM",
    "GradientEstimator",
    "Problem",
    "ScoreFunction",
    "coding_for",
    "get",
]

"""Smoothing families: distributions of a continuous ζ ∈ [0, 1] around a binary z.

Resolve one by name with `get`:

>>> from keras_dvae import smoothing
>>> family = smoothing.get("overlapping_exponential", beta=8.0)
"""

from keras_dvae.smoothing.base import Smoothing
from keras_dvae.smoothing.overlapping_exponential import OverlappingExponential
from keras_dvae.smoothing.overlapping_logistic import OverlappingLogistic
from keras_dvae.smoothing.power_function import PowerFunction
from keras_dvae.smoothing.relaxed_bernoulli import RelaxedBernoulli
from keras_dvae.smoothing.spike_and_exponential import SpikeAndExponential

FAMILIES = {
    "spike_and_exponential": SpikeAndExponential,
    "overlapping_exponential": OverlappingExponential,
    "overlapping_logistic": OverlappingLogistic,
    "power_function": PowerFunction,
    "relaxed_bernoulli": RelaxedBernoulli,
}
# Aliases used in the papers.
ALIASES = {"spike_exp": "spike_and_exponential", "concrete": "relaxed_bernoulli"}


def get(identifier, **kwargs):
    """Resolves a smoothing family.

    Args:
        identifier: a name in `FAMILIES` or `ALIASES`, a `serialize` dict,
            or a `Smoothing` (returned as is).
        **kwargs: constructor arguments for a name, e.g. `beta=8.0`.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Smoothing):
        if kwargs:
            raise ValueError(
                "Keyword arguments are only accepted with a family name. "
                f"Received: identifier={identifier!r}, kwargs={kwargs}"
            )
        return identifier
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        classes = {cls.__name__: cls for cls in FAMILIES.values()}
        if name not in classes:
            raise ValueError(
                f"Unknown smoothing class {name!r}; expected one of "
                f"{sorted(classes)}. Received: identifier={identifier}"
            )
        return classes[name].from_config({**identifier.get("config", {}), **kwargs})
    if isinstance(identifier, str):
        key = ALIASES.get(identifier.lower(), identifier.lower())
        if key not in FAMILIES:
            raise ValueError(
                f"Unknown smoothing family; expected one of {sorted(FAMILIES)} "
                f"(aliases: {sorted(ALIASES)}). Received: identifier={identifier!r}"
            )
        return FAMILIES[key](**kwargs)
    raise ValueError(
        "`identifier` must be a family name, a config dict or a Smoothing. "
        f"Received: identifier={identifier!r}"
    )


def serialize(family):
    """Returns `{"class_name": ..., "config": ...}` for `get` to read back."""
    return {"class_name": type(family).__name__, "config": family.get_config()}


__all__ = [
    "Smoothing",
    "SpikeAndExponential",
    "OverlappingExponential",
    "OverlappingLogistic",
    "PowerFunction",
    "RelaxedBernoulli",
    "FAMILIES",
    "get",
    "serialize",
]

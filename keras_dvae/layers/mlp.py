"""The fully connected conditionals of the papers, as `keras.Sequential` stacks."""

import keras

from keras_dvae.layers import host_init
from keras_dvae.utils import checks

#: The papers' names for their conditionals (DVAE++ §7): "nonlinear" is two
#: 200-unit tanh layers with batch norm, "linear" a single linear map.
STRUCTURES = {"linear": (), "nonlinear": (200, 200)}


def resolve_hidden_units(hidden_units):
    """ "linear" → (), "nonlinear" → (200, 200); a sequence of ints is kept."""
    message = (
        f"`hidden_units` must be one of {sorted(STRUCTURES)} or a sequence of "
        f"positive ints. Received: hidden_units={hidden_units!r}"
    )
    if isinstance(hidden_units, str):
        if hidden_units not in STRUCTURES:
            raise ValueError(message)
        return STRUCTURES[hidden_units]
    try:
        units = tuple(hidden_units)
    except TypeError:
        raise ValueError(message) from None
    try:
        return tuple(checks.check_positive_int("hidden_units", h) for h in units)
    except ValueError:
        raise ValueError(message) from None


def serialize_hidden_units(hidden_units):
    """The config form of `hidden_units`: the name if it is one, else a list."""
    return hidden_units if isinstance(hidden_units, str) else list(hidden_units)


def mlp(hidden_units, units, name, activation="tanh", batch_norm=True):
    """Dense → [BatchNorm] → activation per hidden layer, then Dense(units).

    Returns an unbuilt `keras.Sequential`; `hidden_units` is a tuple of ints.
    """
    # Every weight drawn or filled on the host (`host_init`: no program
    # compiled per shape on JAX).
    layers = []
    for h in hidden_units:
        layers.append(host_init.dense(h))
        if batch_norm:
            layers.append(host_init.batch_norm())
        layers.append(keras.layers.Activation(activation))
    layers.append(host_init.dense(units))
    return keras.Sequential(layers, name=name)

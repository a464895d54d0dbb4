"""Saving a sampling layer's random-seed state with its weights."""

import numpy as np
from keras import ops

SEED_STATE_KEY = "seed_generator_state"


class SavesSeedState:
    """Mixin for a Keras layer with a `seed_generator`: its state is saved.

    Keras's weight files (`.keras`, `.weights.h5`) hold a layer's own
    weights but not the state of its `keras.random.SeedGenerator`, so a
    loaded model would draw its first samples again. With this mixin before
    `keras.layers.Layer` in the bases, `save_own_variables` adds the state
    under "seed_generator_state" and `load_own_variables` restores it when
    the file has it (files saved before it came are loaded as they were).

    Example:

    >>> import keras
    >>> class Noisy(SavesSeedState, keras.layers.Layer):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.seed_generator = keras.random.SeedGenerator(0)
    >>> store = {}
    >>> Noisy().save_own_variables(store)
    >>> sorted(store)
    ['seed_generator_state']
    """

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[SEED_STATE_KEY] = ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if SEED_STATE_KEY in keys:
            state = self.seed_generator.state
            value = np.asarray(store[SEED_STATE_KEY]).astype(np.int64)
            state.assign(ops.cast(value, state.dtype))
        super().load_own_variables({k: store[k] for k in keys if k != SEED_STATE_KEY})

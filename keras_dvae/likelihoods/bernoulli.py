"""Factorial Bernoulli pixels."""

import keras
import numpy as np
from keras import ops

from keras_dvae.likelihoods.base import Likelihood, describe_bad
from keras_dvae.utils.numerics import flatten


@keras.saving.register_keras_serializable(package="keras_dvae")
class BernoulliLikelihood(Likelihood):
    """p(x | l) = Π_i Bernoulli(x_i; σ(l_i)) over binary pixels.

    Data must be 0/1. The decoder's output bias starts at logit(mean
    pixel), clipped to [0.001, 0.999], as in the DVAE++/DVAE# reference code.

    Example:

    >>> import numpy as np
    >>> likelihood = BernoulliLikelihood()
    >>> nll = likelihood.nll(np.ones((1, 3), "float32"), np.zeros((1, 3), "float32"))
    >>> bool(np.isclose(float(nll[0]), 3 * np.log(2)))
    True
    """

    def num_outputs(self, channels):
        return channels

    def nll(self, x, out):
        logits = flatten(out)
        x = ops.cast(flatten(ops.convert_to_tensor(x)), logits.dtype)
        return ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=-1)

    def images(self, out):
        return flatten(ops.sigmoid(out))

    def initial_bias(self, mean):
        p = np.clip(mean, 1e-3, 1 - 1e-3)
        return np.log(p / (1 - p)).astype("float32")

    def check_data(self, array, name):
        bad = (array != 0) & (array != 1)
        if np.any(bad):
            raise ValueError(
                f"`{name}` must be binary (0/1) for the Bernoulli likelihood; "
                f"{describe_bad(array, bad)}. Binarise it (datasets.load gives "
                "binary data, or dynamic binarisation via "
                f"datasets.BinarizedSequence). Received: {name} with shape "
                f"{array.shape}"
            )

"""A convolutional residual block with squeeze-and-excitation."""

import keras
from keras import ops

from keras_dvae.layers.host_init import batch_norm, conv2d, dense
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class ResidualBlock(keras.layers.Layer):
    """x + SE(conv(swish(BN(conv(swish(BN(x))))))), the DVAE++/NVAE cell.

    SE is squeeze-and-excitation (Hu et al. 2018): a sigmoid gate per
    channel from a bottleneck MLP of the channel means. The shortcut is a
    1×1 convolution when the channel count changes.

    Args:
        filters: int, output channels.
        squeeze_ratio: int ≥ 1, bottleneck reduction of the SE gate.
        **kwargs: base `Layer` arguments.

    Example:

    >>> import numpy as np
    >>> block = ResidualBlock(8)
    >>> tuple(block(np.zeros((2, 4, 4, 3), "float32")).shape)
    (2, 4, 4, 8)
    """

    def __init__(self, filters, squeeze_ratio=4, **kwargs):
        super().__init__(**kwargs)
        self.filters = checks.check_positive_int("filters", filters)
        self.squeeze_ratio = checks.check_positive_int("squeeze_ratio", squeeze_ratio)
        self.norm1 = batch_norm(name="norm1")
        self.conv1 = conv2d(filters, 3, padding="same", name="conv1")
        self.norm2 = batch_norm(name="norm2")
        self.conv2 = conv2d(filters, 3, padding="same", name="conv2")
        self.squeeze = dense(
            max(filters // squeeze_ratio, 4), activation="relu", name="squeeze"
        )
        self.excite = dense(filters, activation="sigmoid", name="excite")
        self.shortcut = None

    def build(self, input_shape):
        channels = input_shape[-1]
        self.norm1.build(input_shape)
        self.conv1.build(input_shape)
        inner = (*input_shape[:-1], self.filters)
        self.norm2.build(inner)
        self.conv2.build(inner)
        self.squeeze.build((None, self.filters))
        self.excite.build((None, self.squeeze.units))
        if channels != self.filters:
            self.shortcut = conv2d(self.filters, 1, name="shortcut")
            self.shortcut.build(input_shape)

    def call(self, x, training=None):
        h = self.conv1(ops.silu(self.norm1(x, training=training)))
        h = self.conv2(ops.silu(self.norm2(h, training=training)))
        gate = self.excite(self.squeeze(ops.mean(h, axis=(1, 2))))
        h = h * gate[:, None, None, :]
        skip = x if self.shortcut is None else self.shortcut(x)
        return skip + h

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "squeeze_ratio": self.squeeze_ratio,
        }

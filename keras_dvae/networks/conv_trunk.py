"""The bottom-up convolutional trunk of the convolutional DVAE++ encoder."""

import math

import keras
from keras import ops

from keras_dvae.layers.host_init import conv2d
from keras_dvae.layers.residual_block import ResidualBlock
from keras_dvae.utils import checks
from keras_dvae.utils.numerics import flatten


def padded_size(image_shape):
    """(H, W) rounded up to multiples of 8 (three stride-2 stages)."""
    return tuple(8 * math.ceil(s / 8) for s in image_shape[:2])


@keras.saving.register_keras_serializable(package="keras_dvae")
class ConvTrunk(keras.layers.Layer):
    """Images → (P/4 local feature map, flat P/8 global features).

    `ResidualBlock`s between stride-2 convolutions, P → P/2 → P/4 → P/8,
    P the image side zero-padded to a multiple of 8. The top-down
    decoder's local posteriors read the P/4 map, the encoder's group
    networks the flat P/8 features.

    Args:
        image_shape: (H, W, C).
        filters: int, a multiple of 4: channels at P/4 and P/8 (half at P/2).
        **kwargs: base `Layer` arguments.

    Call arguments:
        x: (n, H·W·C) centred images, flat.
        training: passed to the residual blocks (batch norm).

    Returns:
        (local (n, P/4, P/4, filters), global (n, (P/8)² · filters)).
    """

    def __init__(self, image_shape, filters=64, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.padded = padded_size(self.image_shape)
        self.filters = checks.check_positive_int("filters", filters, minimum=4)
        if filters % 4:
            raise ValueError(
                f"`filters` must be a multiple of 4. Received: filters={filters}"
            )
        f = self.filters
        self.blocks = [
            conv2d(f // 2, 3, strides=2, padding="same", name="stem"),
            ResidualBlock(f // 2, name="block_0"),
            conv2d(f, 3, strides=2, padding="same", name="down_1"),
            ResidualBlock(f, name="block_1"),
        ]
        self.top = conv2d(f, 3, strides=2, padding="same", name="down_2")

    def build(self, input_shape):
        if self.built:
            return
        # Shapes by hand, not an eager pass: on JAX every eager op of a
        # pass compiles a program.
        h, w = self.padded
        f = self.filters
        shapes = [
            (None, h, w, self.image_shape[-1]),
            (None, h // 2, w // 2, f // 2),
            (None, h // 2, w // 2, f // 2),
            (None, h // 4, w // 4, f),
        ]
        for layer, shape in zip(self.blocks, shapes, strict=True):
            layer.build(shape)
        self.top.build((None, h // 4, w // 4, f))
        self.built = True

    def call(self, x, training=None):
        h = ops.reshape(x, (-1, *self.image_shape))
        excess = [p - s for p, s in zip(self.padded, self.image_shape[:2], strict=True)]
        if any(excess):
            h = ops.pad(h, [(0, 0), *((e // 2, e - e // 2) for e in excess), (0, 0)])
        for layer in self.blocks:
            h = layer(h, training=training)
        return h, flatten(self.top(ops.silu(h)))

    def output_width(self):
        """Width of the flat global features."""
        return (self.padded[0] // 8) * (self.padded[1] // 8) * self.filters

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "filters": self.filters,
        }

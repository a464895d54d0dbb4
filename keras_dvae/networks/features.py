"""A VAE's encoder as a deterministic feature extractor layer."""

import math

import keras
from keras import ops

from keras_dvae.networks.hierarchical_encoder import (
    HierarchicalEncoder,
    deserialize_part,
)

OUTPUTS = ("probabilities", "codes", "logits")


@keras.saving.register_keras_serializable(package="keras_dvae")
class EncoderFeatures(keras.layers.Layer):
    """Deterministic features of a `HierarchicalEncoder` (the pass of `encode`).

    Each group's network sees the trunk's features and the mode codes of
    the earlier groups. The layer holds the VAE's encoder itself, so
    fine-tuning trains it and `trainable = False` freezes it (batch norm
    then in inference mode). Made by `DiscreteVAE.feature_extractor`.

    Args:
        encoder: a `HierarchicalEncoder` (or its config) over binary or
            one-hot latents.
        output_type: "probabilities" (q(z=1|x, z_<g), or the flattened
            softmax: differentiable, though not through the hard codes
            later groups read), "codes" (mode codes, 0/1 or one-hot, no
            gradient) or "logits".
        image_shape: the VAE's input shape; inputs may be flat or shaped.
        scale: factor that brings the data to [0, 1] (1/255 for 8-bit).
        **kwargs: base `Layer` arguments.

    Call arguments:
        x: (n, *image_shape) or (n, prod(image_shape)) data.
        training: passed to the encoder (batch norm).

    Returns:
        (n, encoder.num_values) float features.
    """

    def __init__(
        self,
        encoder,
        output_type="probabilities",
        image_shape=None,
        scale=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if output_type not in OUTPUTS:
            raise ValueError(
                f"`output_type` must be one of {OUTPUTS}. "
                f"Received: output_type={output_type!r}"
            )
        encoder = deserialize_part(encoder)
        if not isinstance(encoder, HierarchicalEncoder):
            raise ValueError(
                "`encoder` must be a HierarchicalEncoder. "
                f"Received: encoder={type(encoder).__name__}"
            )
        if type(encoder.latent).__name__ == "GaussianLatent":
            raise ValueError(
                "Feature extractors need binary or one-hot latents; this "
                "encoder's are continuous (GaussianLatent). Received: "
                f"encoder with latent={type(encoder.latent).__name__}"
            )
        self.encoder = encoder
        self.output_type = output_type
        self.image_shape = None if image_shape is None else tuple(image_shape)
        self.scale = float(scale)

    def build(self, input_shape):
        if not self.encoder.built:
            self.encoder.build((None, math.prod(input_shape[1:])))
        if not self.trainable:
            # Frozen in `kwargs` (a saved frozen extractor): its encoder was
            # made after `Layer.__init__` set the flag. On TensorFlow the
            # setter's recursion misses the encoder's networks: set each.
            for layer in self.encoder._flatten_layers(include_self=True):
                layer.trainable = False
        self.built = True

    def call(self, x, training=None):
        x = ops.reshape(x, (-1, math.prod(x.shape[1:])))
        x = ops.cast(x, self.compute_dtype) * self.scale
        posterior, _ = self.encoder.run(x, training=training, mode=True)
        if self.output_type == "codes":
            return posterior.samples
        if self.output_type == "logits":
            return posterior.params
        return posterior.probabilities

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.encoder.num_values)

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "output_type": self.output_type,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "scale": self.scale,
        }

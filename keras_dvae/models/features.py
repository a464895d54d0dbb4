"""A VAE's encoder as a deterministic feature extractor (`keras.Model`)."""

import keras
from keras import ops

OUTPUTS = ("probabilities", "codes", "logits")


@keras.saving.register_keras_serializable(package="keras_dvae")
class EncoderFeatures(keras.layers.Layer):
    """Deterministic features of a discrete VAE's (hierarchical) encoder.

    Runs the posterior networks of a VAE without sampling. The input is
    centred by `input_mean` (as the VAE does). Each network g then sees
    [x − mean, z_1, …, z_{g−1}], where z_h is the mode code of group h
    given the groups before it. This is the deterministic pass of
    `BinaryLatentVAE.encode`. With `num_categories = K`, each network's
    output is read as one-hot latents of K categories (`CategoricalVAE`,
    one network).

    The layer holds the VAE's own encoder layers (and, when given, its
    `input_mean` variable), so it shares their weights. Fine-tuning a
    model that contains it updates the VAE. Setting `trainable = False`
    on it, or on a model around it, freezes those layers in the VAE too,
    and runs their batch norm in inference mode. Make
    it with `model.feature_extractor(...)` rather than directly.

    Outputs, all of shape (n, units):

    - "probabilities": q(z=1|x, z_<g) for binary units, or the softmax
      q(z_l=k|x) flattened to (n, num_latents × K). This output is
      differentiable, so use it for fine-tuning. For a hierarchical
      posterior the gradient reaches each group's network, but not
      through the hard codes that later groups are conditioned on.
    - "codes": the mode codes as 0/1 floats (binary) or flattened one-hot
      vectors (categorical). A straight threshold/argmax: NOT
      differentiable (zero gradient), so use it for hashing or a frozen
      extractor.
    - "logits": the posterior logits, flattened.

    Args:
        encoders: list of layers (or their serialised configs), the
            posterior networks in order; network g takes
            `input_dim + Σ_{h<g} units_h` inputs.
        num_categories: None for binary units, or K ≥ 2 for one-hot
            latents (the network's output width a multiple of K).
        output_type: "probabilities", "codes" or "logits".
        input_mean: optional variable of shape (input_dim,) to share (the
            VAE's). It is not serialised: a layer built from its config
            makes its own, which the saved weights restore.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        x: (n, input_dim) inputs (binary, as the VAE was trained on).
        training: passed to the networks (batch norm).

    Returns:
        (n, units) float features; units = total latent units
        (binary) or num_latents × K (categorical).

    Raises:
        ValueError: for a bad `output_type`, `num_categories` or `encoders`.
    """

    def __init__(
        self,
        encoders,
        num_categories=None,
        output_type="probabilities",
        input_mean=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if output_type not in OUTPUTS:
            raise ValueError(
                f"`output_type` must be one of {OUTPUTS}. "
                f"Received: output_type={output_type!r}"
            )
        if num_categories is not None and not (
            isinstance(num_categories, int) and num_categories >= 2
        ):
            raise ValueError(
                "`num_categories` must be None (binary units) or an int >= 2. "
                f"Received: num_categories={num_categories!r}"
            )
        encoders = [
            keras.saving.deserialize_keras_object(e) if isinstance(e, dict) else e
            for e in encoders
        ]
        if not encoders or not all(isinstance(e, keras.layers.Layer) for e in encoders):
            raise ValueError(
                "`encoders` must be a non-empty list of Keras layers. "
                f"Received: encoders={encoders!r}"
            )
        if num_categories is not None and len(encoders) != 1:
            raise ValueError(
                "One-hot latents take a single encoder network. "
                f"Received: {len(encoders)} encoders"
            )
        self.encoders = encoders
        self.num_categories = num_categories
        self.output_type = output_type
        self.input_mean = input_mean

    def build(self, input_shape):
        width = int(input_shape[-1])
        if self.input_mean is None:
            self.input_mean = self.add_weight(
                name="input_mean",
                shape=(width,),
                initializer="zeros",
                trainable=False,
            )
        for encoder in self.encoders:
            if not encoder.built:
                encoder.build((None, width))
            width += int(encoder.compute_output_shape((None, width))[-1])
        self.built = True

    def call(self, x, training=None):
        xc = ops.cast(x, self.compute_dtype) - ops.cast(
            self.input_mean, self.compute_dtype
        )
        logits, codes = [], []
        for encoder in self.encoders:
            h = ops.concatenate([xc, *codes], axis=-1) if codes else xc
            group_logits = encoder(h, training=training)
            logits.append(group_logits)
            codes.append(ops.cast(group_logits > 0, group_logits.dtype))
        logits = ops.concatenate(logits, axis=-1) if len(logits) > 1 else logits[0]
        if self.num_categories is None:
            if self.output_type == "probabilities":
                return ops.sigmoid(logits)
            if self.output_type == "codes":
                return ops.concatenate(codes, axis=-1)
            return logits
        # Categorical: one network; its output holds L blocks of K logits.
        k = self.num_categories
        width = logits.shape[-1]
        blocks = ops.reshape(logits, (-1, width // k, k))
        if self.output_type == "probabilities":
            blocks = ops.softmax(blocks, axis=-1)
        elif self.output_type == "codes":
            blocks = ops.one_hot(ops.argmax(blocks, axis=-1), k, dtype=blocks.dtype)
        return ops.reshape(blocks, (-1, width))

    def compute_output_shape(self, input_shape):
        width = int(input_shape[-1])
        units = 0
        for encoder in self.encoders:
            out = int(encoder.compute_output_shape((None, width + units))[-1])
            units += out
        return (input_shape[0], units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoders": [
                    keras.saving.serialize_keras_object(e) for e in self.encoders
                ],
                "num_categories": self.num_categories,
                "output_type": self.output_type,
            }
        )
        return config


def feature_extractor(vae, encoders, num_categories, output, name):
    """A functional `keras.Model` (input_dim,) → `EncoderFeatures` of `vae`."""
    inputs = keras.Input(shape=(vae.input_dim,), name="x")
    layer = EncoderFeatures(
        encoders,
        num_categories=num_categories,
        output_type=output,
        input_mean=vae.input_mean,
        name="encoder_features",
    )
    return keras.Model(inputs, layer(inputs), name=name or f"{vae.name}_features")


@keras.saving.register_keras_serializable(package="keras_dvae")
class GlobalCodeFeatures(keras.layers.Layer):
    """Deterministic features of a `ConvDVAEPP`'s global binary latents.

    Runs the VAE's bottom-up encoder and its global posterior groups
    without sampling: group g sees the encoder features and the mode codes
    1[logit > 0] of the groups before it (the pass of `vae.encode(x)`).
    The layer holds the VAE itself, so it shares all its weights:
    fine-tuning a model that contains it trains the VAE's encoder (the
    decoder gets no gradient), and `trainable = False` freezes the VAE.

    Args:
        vae: a `ConvDVAEPP` with a binary global prior ("rbm" or
            "bernoulli"), or its serialised config.
        output_type: "probabilities" (q(z=1|x, z_<g), differentiable),
            "codes" (0/1 mode codes, no gradient) or "logits".
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        x: (n, H·W·C) or (n, H, W, C) images, as the VAE takes them.
        training: passed to the VAE's networks.

    Returns:
        (n, global_latents) float features.
    """

    def __init__(self, vae, output_type="probabilities", **kwargs):
        super().__init__(**kwargs)
        if output_type not in OUTPUTS:
            raise ValueError(
                f"`output_type` must be one of {OUTPUTS}. "
                f"Received: output_type={output_type!r}"
            )
        if isinstance(vae, dict):
            vae = keras.saving.deserialize_keras_object(vae)
        if getattr(vae, "global_prior", "normal") == "normal":
            raise ValueError(
                "`vae` must be a ConvDVAEPP with binary global latents "
                "(global_prior 'rbm' or 'bernoulli'). "
                f"Received: {type(vae).__name__} with global_prior="
                f"{getattr(vae, 'global_prior', None)!r}"
            )
        self.vae = vae
        self.output_type = output_type

    def build(self, input_shape):
        self.built = True

    def call(self, x, training=None):
        x = ops.reshape(x, (-1, self.vae.input_dim))
        logits, codes = self.vae.posterior(x, training=training, mode=True)
        if self.output_type == "codes":
            return ops.concatenate(codes, axis=-1)
        logits = ops.concatenate(logits, axis=-1)
        return ops.sigmoid(logits) if self.output_type == "probabilities" else logits

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.vae.global_latents)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vae": keras.saving.serialize_keras_object(self.vae),
                "output_type": self.output_type,
            }
        )
        return config

"""The hierarchical posterior q(z|x) = Π_g q(z_g | x, ζ_<g), written once."""

import keras
from keras import ops

from keras_dvae.layers.mlp import mlp, resolve_hidden_units, serialize_hidden_units
from keras_dvae.utils import checks


def deserialize_part(obj):
    """A part (layer) from its config, or the part itself."""
    return keras.saving.deserialize_keras_object(obj) if isinstance(obj, dict) else obj


@keras.saving.register_keras_serializable(package="keras_dvae")
class HierarchicalEncoder(keras.layers.Layer):
    """The encoder of every `DiscreteVAE`: a trunk, then one MLP per group.

    Mathematical details:

        h = trunk(x − input_mean),
        q(z|x) = Π_g q(z_g | x, ζ_<g),   params_g = MLP_g([h, ζ_1, …, ζ_{g−1}]),

    as in DVAE/DVAE++. The latent layer (`SmoothedBernoulli`,
    `GumbelSoftmax` or `GaussianLatent`) samples each group: ζ in training,
    the discrete z otherwise. `input_mean` is set by `DiscreteVAE.adapt`.

    Args:
        latent: the latent layer (or its config).
        num_latents: int, latent units over all groups (for one-hot
            latents, the number of latents).
        num_groups: int ≥ 1, dividing `num_latents`.
        hidden_units: the group MLPs' hidden sizes ("nonlinear", "linear"
            or a sequence of ints).
        activation: their activation.
        batch_norm: batch norm in their hidden layers.
        trunk: None (the identity) or a layer (or its config), such as
            `ConvTrunk`, mapping the centred flat input to (local features,
            flat features).
        **kwargs: base `Layer` arguments.

    Example:

    >>> import numpy as np
    >>> from keras_dvae.layers import SmoothedBernoulli
    >>> encoder = HierarchicalEncoder(SmoothedBernoulli(), num_latents=8,
    ...                               num_groups=2, hidden_units=(16,))
    >>> encoder.build((None, 64))
    >>> posterior, _ = encoder.run(np.zeros((3, 64), "float32"), mode=True)
    >>> tuple(posterior.samples.shape)
    (3, 8)
    """

    def __init__(
        self,
        latent,
        num_latents,
        num_groups=1,
        hidden_units="nonlinear",
        activation="tanh",
        batch_norm=True,
        trunk=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent = deserialize_part(latent)
        self.num_latents = checks.check_positive_int("num_latents", num_latents)
        self.num_groups = checks.check_num_groups(self.num_latents, num_groups)
        self.hidden_units = hidden_units
        self.activation = activation
        self.batch_norm = bool(batch_norm)
        self.trunk = deserialize_part(trunk)
        units = self.num_latents // self.num_groups
        self.networks = [
            mlp(
                resolve_hidden_units(hidden_units),
                self.latent.num_params(units),
                f"encoder_{g}",
                activation=activation,
                batch_norm=self.batch_norm,
            )
            for g in range(self.num_groups)
        ]

    @property
    def num_values(self):
        """Width of the concatenated codes (n, num_values)."""
        return self.latent.num_values(self.num_latents)

    def build(self, input_shape):
        if self.built:
            return
        input_dim = int(input_shape[-1])
        self.input_mean = self.add_weight(
            name="input_mean", shape=(input_dim,), initializer="zeros", trainable=False
        )
        if self.trunk is None:
            width = input_dim
        else:
            self.trunk.build((None, input_dim))
            width = self.trunk.output_width()
        per_group = self.num_values // self.num_groups
        for network in self.networks:
            network.build((None, width))
            width += per_group
        if not self.latent.built:
            # A deserialised latent layer comes built (its build_config):
            # building it again would add its variables twice.
            units = self.num_latents // self.num_groups
            self.latent.build((None, self.latent.num_params(units)))
        self.built = True

    def run(self, x, training=None, discrete=None, mode=False):
        """Encodes flat inputs `x` (in [0, 1]).

        Args:
            x: (n, input_dim) data scaled to [0, 1].
            training: the training flag of the networks and the latent layer.
            discrete: override the latent layer's choice of ζ (training) or
                z (otherwise).
            mode: take each group's most likely code given the earlier
                groups' codes instead of sampling (deterministic features).

        Returns:
            (posterior, context): a `Posterior` of the latent layer's kind,
            and what the decoder's inference networks read: the trunk's
            local feature map, or the centred input without a trunk.
        """
        xc = ops.cast(x, self.compute_dtype) - self.input_mean
        context = features = xc
        if self.trunk is not None:
            context, features = self.trunk(xc, training=training)
        params, samples = [], []
        for network in self.networks:
            h = ops.concatenate([features, *samples], axis=-1) if samples else features
            p = network(h, training=training)
            params.append(p)
            if mode:
                samples.append(self.latent.mode_codes(p))
            else:
                samples.append(
                    self.latent.sample_codes(p, training=training, discrete=discrete)
                )
        if discrete is None:
            discrete = not training
        posterior = self.latent.posterior(
            _concat(params),
            _concat(samples),
            num_groups=self.num_groups,
            training=bool(training) and not mode,
            discrete=bool(discrete) or mode,
        )
        return posterior, context

    def call(self, x, training=None):
        """The deterministic pass: each group's mode code, concatenated."""
        return self.run(x, training=training, mode=True)[0].samples

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_values)

    def get_config(self):
        return {
            **super().get_config(),
            "latent": keras.saving.serialize_keras_object(self.latent),
            "num_latents": self.num_latents,
            "num_groups": self.num_groups,
            "hidden_units": serialize_hidden_units(self.hidden_units),
            "activation": self.activation,
            "batch_norm": self.batch_norm,
            "trunk": keras.saving.serialize_keras_object(self.trunk),
        }


def _concat(parts):
    return ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]

"""The fully connected decoder, with optional Gaussian layers below the codes."""

import keras
from keras import ops

from keras_dvae.distributions.normal import normal_kl, normal_log_prob, split_gaussian
from keras_dvae.layers.gaussian_latent import sample_normal
from keras_dvae.layers.mlp import mlp, resolve_hidden_units, serialize_hidden_units
from keras_dvae.utils import checks, seed_state


@keras.saving.register_keras_serializable(package="keras_dvae")
class MLPDecoder(seed_state.SavesSeedState, keras.layers.Layer):
    """Output parameters of p(x | ζ) from an MLP of the codes.

    With `continuous_layers = L > 0`, L layers of diagonal Gaussian
    latents sit below the codes (Rolfe 2016, §4), each conditional an MLP
    of the same structure:

        p(x, h | ζ) = Π_l p(h_l | ζ, h_<l) · p(x | ζ, h),
        q(h | x, ζ) = Π_l q(h_l | x, ζ, h_<l).

    With `direct_codes=False` the pixels read the Gaussian latents only,
    p(x | h): the codes act through p(h | ζ) alone, so a one-hot code
    makes p(h) a mixture of Gaussians, one per category (the GMVAE
    structure of Dilokthanakul et al. 2016 and Shu's note on it).

    Args:
        output_dim: int, output parameters per example (the pixels).
        hidden_units: "nonlinear", "linear" or hidden sizes.
        activation: hidden activation.
        batch_norm: batch norm in the hidden layers.
        context_dim: int, width of the context (the centred input) that
            the continuous posteriors read; needed with continuous layers.
        continuous_layers: int ≥ 0.
        continuous_units: int ≥ 1, units of each Gaussian layer.
        direct_codes: bool, whether the pixel network reads the codes
            besides the Gaussian latents; False needs continuous layers.
        seed: int or None, seeds the Gaussian draws.
        **kwargs: base `Layer` arguments.
    """

    def __init__(
        self,
        output_dim,
        hidden_units="nonlinear",
        activation="tanh",
        batch_norm=True,
        context_dim=None,
        continuous_layers=0,
        continuous_units=64,
        direct_codes=True,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_dim = checks.check_positive_int("output_dim", output_dim)
        self.hidden_units = hidden_units
        units = resolve_hidden_units(hidden_units)
        self.activation = activation
        self.batch_norm = bool(batch_norm)
        self.continuous_layers = checks.check_positive_int(
            "continuous_layers", continuous_layers, minimum=0
        )
        self.continuous_units = checks.check_positive_int(
            "continuous_units", continuous_units
        )
        if self.continuous_layers and context_dim is None:
            raise ValueError(
                "`context_dim` is needed with continuous layers. "
                f"Received: context_dim={context_dim}"
            )
        self.direct_codes = bool(direct_codes)
        if not (self.direct_codes or self.continuous_layers):
            raise ValueError(
                "`direct_codes=False` (pixels from the Gaussian latents only) "
                "needs continuous layers. Received: continuous_layers=0"
            )
        self.context_dim = context_dim
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.network = mlp(units, output_dim, "network", activation, self.batch_norm)
        self.continuous_posteriors = [
            mlp(units, 2 * continuous_units, f"continuous_q_{i}", activation)
            for i in range(self.continuous_layers)
        ]
        self.continuous_priors = [
            mlp(units, 2 * continuous_units, f"continuous_p_{i}", activation)
            for i in range(self.continuous_layers)
        ]

    def build(self, input_shape):
        width = int(input_shape[-1])
        for q_net, p_net in zip(
            self.continuous_posteriors, self.continuous_priors, strict=True
        ):
            q_net.build((None, self.context_dim + width))
            p_net.build((None, width))
            width += self.continuous_units
        if not self.direct_codes:
            width -= int(input_shape[-1])
        self.network.build((None, width))
        self.built = True

    @property
    def output_bias(self):
        """The bias of the output layer (`DiscreteVAE.adapt` initialises it)."""
        return self.network.layers[-1].bias

    def call(self, latents, training=None):
        """The output parameters for codes `latents` (local latents from p)."""
        return self.run(latents, training=training)[0]

    def run(self, latents, context=None, training=None, discrete=None):
        """Decodes codes (or ζ) `latents`.

        Args:
            latents: (n, latent width).
            context: the centred input, for the continuous posteriors;
                None draws h from its prior (generation).
            training: training flag of the networks.
            discrete: unused (kept for the decoder protocol).

        Returns:
            (output parameters (n, output_dim), Σ_l KL(q(h_l|·) ‖ p(h_l|·)),
            log q(h), log p(h)), the last three per example (0 without
            continuous layers).
        """
        inputs = [latents]
        kl = log_q = log_p = 0.0
        for q_net, p_net in zip(
            self.continuous_posteriors, self.continuous_priors, strict=True
        ):
            above = ops.concatenate(inputs, axis=-1)
            p_mean, p_log_var = split_gaussian(p_net(above, training=training))
            if context is None:
                mean, log_var = p_mean, p_log_var
            else:
                mean, log_var = split_gaussian(
                    q_net(ops.concatenate([context, above], axis=-1), training=training)
                )
            h = sample_normal(mean, log_var, self.seed_generator)
            log_p += normal_log_prob(h, p_mean, p_log_var)
            if context is not None:
                log_q += normal_log_prob(h, mean, log_var)
                kl += normal_kl(mean, log_var, p_mean, p_log_var)
            inputs.append(h)
        if not self.direct_codes:
            inputs = inputs[1:]
        out = self.network(ops.concatenate(inputs, axis=-1), training=training)
        return out, kl, log_q, log_p

    def get_config(self):
        return {
            **super().get_config(),
            "output_dim": self.output_dim,
            "hidden_units": serialize_hidden_units(self.hidden_units),
            "activation": self.activation,
            "batch_norm": self.batch_norm,
            "context_dim": self.context_dim,
            "continuous_layers": self.continuous_layers,
            "continuous_units": self.continuous_units,
            "direct_codes": self.direct_codes,
            "seed": self.seed,
        }

"""The top-down convolutional decoder with autoregressive local latents."""

import keras
from keras import ops

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.distributions import Bernoulli, kl_divergence
from keras_dvae.distributions.normal import normal_kl, normal_log_prob, split_gaussian
from keras_dvae.layers.gaussian_latent import sample_normal
from keras_dvae.layers.host_init import HostGlorotUniform, conv2d, dense
from keras_dvae.layers.residual_block import ResidualBlock
from keras_dvae.layers.smoothed_bernoulli import SmoothedBernoulli
from keras_dvae.networks.conv_trunk import padded_size
from keras_dvae.utils import checks, seed_state
from keras_dvae.utils.numerics import flatten

LOCAL_LATENTS = ("normal", "bernoulli")


def _flat_gaussian(params):
    """(mean, log-variance) of per-pixel Gaussian params, each (n, units)."""
    return [flatten(t) for t in split_gaussian(params)]


def _upsample(h):
    """Nearest-neighbour ×2 in height and width."""
    return ops.repeat(ops.repeat(h, 2, axis=1), 2, axis=2)


@keras.saving.register_keras_serializable(package="keras_dvae")
class TopDownDecoder(seed_state.SavesSeedState, keras.layers.Layer):
    """From the global codes, through local latent groups, to output parameters.

    The decoder of the convolutional DVAE++ (§6): from the global codes at
    P/8 × P/8 it upsamples to P/4; for each local group h_k (a P/4 × P/4 ×
    `local_channels` map) the prior p(h_k | ζ, h_<k) reads the state s and
    the posterior reads [s, the encoder's local features] (shared top-down
    inference, as in IAF-VAE and NVAE); h_k merges into s through a
    residual block. It ends at P → cropped to the image, `output_channels`
    parameters per pixel.

    Args:
        image_shape: (H, W, C).
        output_channels: int, parameters per pixel.
        local_groups, local_channels: ints ≥ 1, groups and channels a group.
        local_latents: "normal" or "bernoulli" (smoothed with `smoothing`).
        filters: int, a multiple of 4.
        output_bias: add a per-pixel bias (initialised by `adapt`).
        smoothing: smoothing family of Bernoulli local latents.
        seed: int or None.
        **kwargs: base `Layer` arguments.
    """

    def __init__(
        self,
        image_shape,
        output_channels,
        local_groups=16,
        local_channels=4,
        local_latents="normal",
        filters=64,
        output_bias=True,
        smoothing=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_shape = tuple(int(s) for s in image_shape)
        self.output_channels = checks.check_positive_int(
            "output_channels", output_channels
        )
        self.local_groups = checks.check_positive_int("local_groups", local_groups)
        self.local_channels = checks.check_positive_int(
            "local_channels", local_channels
        )
        if local_latents not in LOCAL_LATENTS:
            raise ValueError(
                f"`local_latents` must be one of {list(LOCAL_LATENTS)}. "
                f"Received: local_latents={local_latents!r}"
            )
        self.local_latents = local_latents
        self.filters = checks.check_positive_int("filters", filters, minimum=4)
        self.output_bias_enabled = bool(output_bias)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.local_latent = SmoothedBernoulli(
            "overlapping_exponential" if smoothing is None else smoothing,
            seed=None if seed is None else seed + 1,
            name="local_latent",
        )
        f = self.filters

        def small():  # one per layer: each draws its own seed
            return HostGlorotUniform(gain=0.01)

        self.padded = padded_size(self.image_shape)
        self.global_decoder = dense(
            (self.padded[0] // 8) * (self.padded[1] // 8) * f, name="global_decoder"
        )
        self.top_block = ResidualBlock(f, name="top_block")
        self.top_up = conv2d(f, 3, padding="same", name="top_up")
        params = local_channels * (2 if local_latents == "normal" else 1)
        # Near-zero kernels (Glorot × 0.01): at initialisation every group's
        # prior and posterior are close to N(0, 1) (or Bernoulli(1/2)). With
        # Glorot's, the state, the log-variances and the samples feed each
        # other down the groups; at 16 groups that loop diverged (KL 3·10¹¹
        # nats at the first step on Caltech-101). Not zero: the posterior's
        # kernel must pass gradients to the encoder's local features.
        self.local_priors = [
            conv2d(
                params, 3, padding="same", kernel_initializer=small(), name=f"prior_{k}"
            )
            for k in range(local_groups)
        ]
        self.local_posteriors = [
            conv2d(
                params,
                3,
                padding="same",
                kernel_initializer=small(),
                name=f"posterior_{k}",
            )
            for k in range(local_groups)
        ]
        self.local_projections = [
            conv2d(f, 1, name=f"merge_projection_{k}") for k in range(local_groups)
        ]
        self.local_blocks = [
            ResidualBlock(f, name=f"merge_block_{k}") for k in range(local_groups)
        ]
        self.up_1 = conv2d(f // 2, 3, padding="same", name="up_1")
        self.up_block = ResidualBlock(f // 2, name="up_block")
        self.output_layer = conv2d(
            output_channels, 3, padding="same", name="output_layer"
        )

    @property
    def smoothing(self):
        return self.local_latent.smoothing

    def build(self, input_shape):
        if self.built:
            return
        if self.output_bias_enabled:
            self.pixel_bias = self.add_weight(
                name="pixel_bias", shape=self.image_shape, initializer="zeros"
            )
        self.local_latent.build((None, self.local_channels))
        # Shapes by hand, not an eager pass: on JAX every eager op of a
        # pass compiles a program.
        h, w = self.padded
        f = self.filters
        quarter = (None, h // 4, w // 4)
        self.global_decoder.build(input_shape)
        self.top_block.build((None, h // 8, w // 8, f))
        self.top_up.build((*quarter, f))
        for prior, posterior, projection, block in zip(
            self.local_priors,
            self.local_posteriors,
            self.local_projections,
            self.local_blocks,
            strict=True,
        ):
            prior.build((*quarter, f))
            posterior.build((*quarter, 2 * f))  # state ‖ the trunk's P/4 map
            projection.build((*quarter, self.local_channels))
            block.build((*quarter, f))
        self.up_1.build((*quarter, f))
        self.up_block.build((None, h // 2, w // 2, f // 2))
        self.output_layer.build((None, *self.image_shape[:2], f // 2))
        self.built = True

    @property
    def output_bias(self):
        return self.pixel_bias if self.output_bias_enabled else None

    def run(
        self, latents, context=None, training=None, discrete=None, local_values=None
    ):
        """Decodes global codes.

        Args:
            latents: (n, global width) codes (or ζ).
            context: the encoder's local feature map: each local group is
                drawn from its posterior (KL and log q accumulate; log p
                always does); None draws every group from its prior.
            training: training flag.
            discrete: whether Bernoulli local latents are discrete.
            local_values: optional list of per-group maps that fix the
                local latents (brute-force enumeration in tests).

        Returns:
            (output parameters (n, H, W, output_channels), KL, log q, log p),
            the last three per example.
        """
        padded_h, padded_w = self.padded
        s = self.global_decoder(latents)
        s = ops.reshape(s, (-1, padded_h // 8, padded_w // 8, self.filters))
        s = self.top_block(ops.silu(s), training=training)
        s = self.top_up(_upsample(s))
        kl = log_q = log_p = 0.0
        for k, (prior, posterior, projection, block) in enumerate(
            zip(
                self.local_priors,
                self.local_posteriors,
                self.local_projections,
                self.local_blocks,
                strict=True,
            )
        ):
            p_params = prior(ops.silu(s))
            q_params = None
            if context is not None:
                q_params = posterior(ops.silu(ops.concatenate([s, context], -1)))
            if local_values is not None:
                h = ops.cast(local_values[k], p_params.dtype)
            elif q_params is not None:
                h = self._sample(q_params, training, discrete)
            else:
                h = self._sample(p_params, training=False, discrete=True)
            log_p += self._log_prob(p_params, h)
            if q_params is not None:
                kl += self._kl(q_params, p_params)
                log_q += self._log_prob(q_params, h)
            s = block(s + projection(h), training=training)
        s = self.up_1(_upsample(s))
        s = _upsample(self.up_block(s, training=training))
        height, width, _ = self.image_shape
        top_h = (padded_h - height) // 2
        top_w = (padded_w - width) // 2
        s = s[:, top_h : top_h + height, top_w : top_w + width, :]
        out = self.output_layer(ops.silu(s))
        if self.output_bias_enabled:
            out = out + self.pixel_bias
        return out, kl, log_q, log_p

    def _sample(self, params, training, discrete):
        if self.local_latents == "normal":
            return sample_normal(*split_gaussian(params), self.seed_generator)
        return self.local_latent(params, training=training, discrete=discrete)

    def _log_prob(self, params, h):
        """Per-example log-density (Normal) or log-probability (discrete h)."""
        if self.local_latents == "normal":
            return normal_log_prob(flatten(h), *_flat_gaussian(params))
        return ops.sum(Bernoulli(flatten(params)).log_prob(flatten(h)), axis=-1)

    def _kl(self, q_params, p_params):
        """Per-example KL(q ‖ p) of one local group given its parents."""
        if self.local_latents == "normal":
            return normal_kl(*_flat_gaussian(q_params), *_flat_gaussian(p_params))
        q, p = Bernoulli(flatten(q_params)), Bernoulli(flatten(p_params))
        return ops.sum(kl_divergence(q, p), axis=-1)

    def get_config(self):
        return {
            **super().get_config(),
            "image_shape": list(self.image_shape),
            "output_channels": self.output_channels,
            "local_groups": self.local_groups,
            "local_channels": self.local_channels,
            "local_latents": self.local_latents,
            "filters": self.filters,
            "output_bias": self.output_bias_enabled,
            "smoothing": smoothing_lib.serialize(self.smoothing),
            "seed": self.seed,
        }

"""Convolutional DVAE++: a global RBM over binary units, local conv latents."""

import math

import keras
import numpy as np
from keras import ops

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.distributions import Bernoulli, kl_divergence
from keras_dvae.distributions import discretized_logistic as logistic_mixture
from keras_dvae.distributions.normal import normal_kl, normal_log_prob, split_gaussian
from keras_dvae.layers import ResidualBlock, SmoothedBernoulli
from keras_dvae.models.base import DiscreteVAE, mlp
from keras_dvae.models.features import OUTPUTS as FEATURE_OUTPUTS
from keras_dvae.models.features import GlobalCodeFeatures
from keras_dvae.models.log_partition import LogPartitionMixin
from keras_dvae.priors import RBMPrior, bernoulli_entropy
from keras_dvae.utils import checks

GLOBAL_PRIORS = ("rbm", "bernoulli", "normal")
LOCAL_LATENTS = ("normal", "bernoulli")
OUTPUTS = ("bernoulli", "logistic_mixture")


def _choice(name, value, options):
    if value not in options:
        raise ValueError(
            f"`{name}` must be one of {list(options)}. Received: {name}={value!r}"
        )
    return value


def _flatten(t):
    """(n, ...) → (n, prod(...)) with a static width."""
    return ops.reshape(t, (-1, int(np.prod(t.shape[1:]))))


def _upsample(h):
    """Nearest-neighbour ×2 in height and width."""
    return ops.repeat(ops.repeat(h, 2, axis=1), 2, axis=2)


@keras.saving.register_keras_serializable(package="keras_dvae")
class ConvDVAEPP(LogPartitionMixin, DiscreteVAE):
    """Convolutional DVAE++ (Vahdat et al. 2018, §6 and Table 3).

    Latents. `global_latents` units z_g (binary under an RBM prior, by
    default 16) summarise the image; below them `local_groups` groups of
    local latents h_1..h_K, each a (P/4 × P/4 × `local_channels`) map
    (P the image side padded to a multiple of 8), form an autoregressive
    convolutional hierarchy:

        p(x, h, ζ, z) = p(z) r(ζ|z) Π_k p(h_k | ζ, h_<k) p(x | ζ, h),
        q(z, ζ, h | x) = Π_g q(z_g | x, ζ_<g) r(ζ_g|z_g) Π_k q(h_k | x, ζ, h_<k).

    Networks. A bottom-up encoder (residual blocks with squeeze-and-
    excitation, `ResidualBlock`) maps x to a P/4 feature map and, through
    one more stride-2 convolution, to the features of the global posterior
    (an MLP per group, hierarchical as in `DVAEPP`). The top-down decoder
    starts at P/8 × P/8 from ζ, upsamples to P/4, and for each local group
    computes the prior p(h_k|·) from its state s and the posterior from
    [s, encoder features] (shared top-down inference, as in IAF-VAE and
    NVAE), then merges h_k into s with a residual block. It ends
    multi-scale (P/4 → P/2 → P, cropped to the image; the last scale is a
    single 3×3 convolution, to keep CPU training affordable) in a factorial
    Bernoulli for binary images or a discretised mixture of logistics
    (PixelCNN++) for 8-bit colour images.

    Variants (DVAE++ Table 3) are configurations of this one model:

    | Table 3 column            | global_prior | smoothing  | local_latents |
    | ------------------------- | ------------ | ---------- | ------------- |
    | all continuous            | "normal"     | —          | "normal"      |
    | RBM, Rolfe's smoothing    | "rbm"        | spike-exp  | "normal"      |
    | RBM, overlapping (DVAE++) | "rbm"        | overlap-ex | "normal"      |
    | all discrete, RBM         | "rbm"        | overlap-ex | "bernoulli"   |
    | all discrete, Bernoulli   | "bernoulli"  | overlap-ex | "bernoulli"   |

    (spike-exp: "spike_and_exponential" with `global_groups=1`; overlap-ex:
    "overlapping_exponential", the default.)

    KL. For the RBM prior it is the DVAE++ expression of `DVAEPP` (analytic
    given ζ, log Z from `estimate_log_partition`, ∇ log Z by PCD); for a
    factorial Bernoulli or standard Normal global prior, and for each local
    group given its parents, it is the analytic KL of the factorial
    distributions, averaged over the sampled parents. Spike-and-exponential
    needs `global_groups=1`, where that expression is exact (see `DVAE` for
    Rolfe's estimator with several groups).

    Evaluation is in the discrete limit: binary units are sampled as z, the
    Normal latents as themselves, and `log_likelihood` averages
    p(x, z, h)/q(z, h|x). For colour images the value is in nats over the
    8-bit pixel values; bits/dim = −log p(x) / (H·W·C·ln 2).

    Data. Binary images (0/1) with `output_distribution="bernoulli"`; 8-bit images
    (integers 0..255) with `output_distribution="logistic_mixture"`. Either flat
    (n, H·W·C) or shaped (n, H, W, C).

    Args:
        image_shape: (H, W, C).
        global_latents: int, units of the global latents (16).
        global_groups: int, groups of the global posterior's hierarchy.
        global_prior: "rbm", "bernoulli" (factorial, learned) or "normal".
        smoothing: smoothing family of the binary latents (default
            overlapping exponential, β = 10).
        local_groups: int ≥ 1, groups of local latents (16).
        local_channels: int, channels of each local group's map.
        local_latents: "normal" or "bernoulli".
        filters: int (multiple of 4), channels of the networks.
        global_units: hidden units of the global posterior's MLPs.
        output_distribution: "bernoulli" or "logistic_mixture".
        num_mixtures: mixture components of the logistic output.
        num_chains, gibbs_sweeps: PCD chains and sweeps per step of the RBM.
        weight_decay: L2 coefficient λ on every kernel (λ/2 Σ w²).
        seed: int or None.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = ConvDVAEPP(image_shape=(8, 8, 1), local_groups=2, filters=8,
    ...                    global_units=16, num_chains=20, gibbs_sweeps=2)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(20, 64) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=10, verbose=0)
    >>> ll = model.log_likelihood(x[:2], num_samples=5)   # log Z exact
    >>> tuple(model.generate(3).shape)
    (3, 64)

    References:
        Vahdat, Macready, Bian, Khoshaman, Andriyash, "DVAE++", ICML 2018.
        Vahdat & Kautz, "NVAE", NeurIPS 2020 (top-down inference cells).
        Salimans et al., "PixelCNN++", ICLR 2017 (logistic mixture).
    """

    #: `DVAEPP.from_preset` accepts this model's presets too.
    preset_families = ("DVAEPP",)
    #: Convolutional activations: ~2,000 rows a chunk keep memory < 1 GB.
    _likelihood_rows = 2_000

    def __init__(
        self,
        image_shape=(28, 28, 1),
        global_latents=16,
        global_groups=2,
        global_prior="rbm",
        smoothing=None,
        local_groups=16,
        local_channels=4,
        local_latents="normal",
        filters=64,
        global_units=256,
        output_distribution="bernoulli",
        num_mixtures=10,
        num_chains=1000,
        gibbs_sweeps=40,
        weight_decay=0.0,
        seed=None,
        **kwargs,
    ):
        try:
            image_shape = tuple(int(s) for s in image_shape)
        except (TypeError, ValueError):
            image_shape = None
        if image_shape is None or len(image_shape) != 3 or min(image_shape) < 1:
            raise ValueError(
                "`image_shape` must be (height, width, channels) of positive "
                f"ints. Received: image_shape={image_shape!r}"
            )
        super().__init__(input_dim=int(np.prod(image_shape)), seed=seed, **kwargs)
        self.image_shape = image_shape
        self.global_latents = checks.check_positive_int(
            "global_latents", global_latents
        )
        self.global_groups = checks.check_positive_int("global_groups", global_groups)
        if global_latents % global_groups:
            raise ValueError(
                "`global_latents` must be a multiple of `global_groups`. Received: "
                f"global_latents={global_latents}, global_groups={global_groups}"
            )
        self.global_prior = _choice("global_prior", global_prior, GLOBAL_PRIORS)
        self.local_groups = checks.check_positive_int("local_groups", local_groups)
        self.local_channels = checks.check_positive_int(
            "local_channels", local_channels
        )
        self.local_latents = _choice("local_latents", local_latents, LOCAL_LATENTS)
        self.filters = checks.check_positive_int("filters", filters, minimum=4)
        if filters % 4:
            raise ValueError(
                f"`filters` must be a multiple of 4. Received: filters={filters}"
            )
        self.global_units = checks.check_positive_int("global_units", global_units)
        self.output_distribution = _choice(
            "output_distribution", output_distribution, OUTPUTS
        )
        self.num_mixtures = checks.check_positive_int("num_mixtures", num_mixtures)
        self.num_chains = checks.check_positive_int("num_chains", num_chains)
        self.gibbs_sweeps = checks.check_positive_int("gibbs_sweeps", gibbs_sweeps)
        if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
            raise ValueError(
                "`weight_decay` must be a number >= 0. "
                f"Received: weight_decay={weight_decay!r}"
            )
        self.weight_decay = float(weight_decay)
        self.smoothing = smoothing_lib.get(
            "overlapping_exponential" if smoothing is None else smoothing
        )
        if global_prior == "rbm" and global_latents % 2:
            raise ValueError(
                "The RBM splits the global units in two halves, so "
                f"`global_latents` must be even. Received: global_latents="
                f"{global_latents}"
            )
        spike = not self.smoothing.is_overlapping
        if spike and global_prior != "normal" and global_groups > 1:
            raise ValueError(
                f"{type(self.smoothing).__name__} smoothing needs "
                "`global_groups=1` here (with several groups its KL gradient "
                "needs Rolfe's estimator; see `DVAE`). Received: "
                f"global_groups={global_groups}"
            )

        height, width, channels = image_shape
        self._padded = (8 * math.ceil(height / 8), 8 * math.ceil(width / 8))
        f = filters
        seeds = [None if seed is None else seed + i for i in range(4)]

        # Bottom-up encoder: P → P/2 → P/4 (local features) → P/8 (global).
        self.encoder_layers = [
            keras.layers.Conv2D(f // 2, 3, strides=2, padding="same", name="stem"),
            ResidualBlock(f // 2, name="encoder_block_0"),
            keras.layers.Conv2D(f, 3, strides=2, padding="same", name="down_1"),
            ResidualBlock(f, name="encoder_block_1"),
        ]
        self.encoder_top = keras.layers.Conv2D(
            f, 3, strides=2, padding="same", name="down_3"
        )
        per_group = global_latents // global_groups
        width_out = 2 * per_group if global_prior == "normal" else per_group
        self.global_encoders = [
            mlp((global_units,), width_out, f"global_encoder_{g}")
            for g in range(global_groups)
        ]
        # Top-down decoder.
        top = (self._padded[0] // 8, self._padded[1] // 8)
        self.global_decoder = keras.layers.Dense(
            top[0] * top[1] * f, name="global_decoder"
        )
        self.top_block = ResidualBlock(f, name="top_block")
        self.top_up = keras.layers.Conv2D(f, 3, padding="same", name="top_up")
        local_params = local_channels * (2 if local_latents == "normal" else 1)
        self.local_priors = [
            keras.layers.Conv2D(local_params, 3, padding="same", name=f"prior_{k}")
            for k in range(local_groups)
        ]
        self.local_posteriors = [
            keras.layers.Conv2D(local_params, 3, padding="same", name=f"posterior_{k}")
            for k in range(local_groups)
        ]
        self.local_projections = [
            keras.layers.Conv2D(f, 1, name=f"merge_projection_{k}")
            for k in range(local_groups)
        ]
        self.local_blocks = [
            ResidualBlock(f, name=f"merge_block_{k}") for k in range(local_groups)
        ]
        self.up_1 = keras.layers.Conv2D(f // 2, 3, padding="same", name="up_1")
        self.up_block = ResidualBlock(f // 2, name="up_block")
        out_channels = (
            channels
            if output_distribution == "bernoulli"
            else logistic_mixture.num_parameters(channels, num_mixtures)
        )
        self.output_layer = keras.layers.Conv2D(
            out_channels, 3, padding="same", name="output_layer"
        )
        if output_distribution == "bernoulli":
            self.pixel_bias = self.add_weight(
                name="pixel_bias", shape=image_shape, initializer="zeros"
            )

        # Latent samplers and the prior.
        self.latent = SmoothedBernoulli(self.smoothing, seed=seeds[0], name="latent")
        self.local_latent = SmoothedBernoulli(
            self.smoothing, seed=seeds[1], name="local_latent"
        )
        self._normal_seed = keras.random.SeedGenerator(seeds[2])
        self._output_seed = keras.random.SeedGenerator(seeds[3])
        self.log_partition = self.add_weight(
            name="log_partition", shape=(), initializer="zeros", trainable=False
        )
        if global_prior == "rbm":
            half = global_latents // 2
            self.prior = RBMPrior(
                half,
                half,
                num_chains=num_chains,
                gibbs_sweeps=gibbs_sweeps,
                seed=seed,
                name="prior",
            )
        elif global_prior == "bernoulli":
            self.prior_logits = self.add_weight(
                name="prior_logits", shape=(global_latents,), initializer="zeros"
            )
        self.build((None, self.input_dim))

    def build(self, input_shape=None):
        if self.built:
            return
        # Every sublayer builds on its first call: run the evaluation pass once.
        x = ops.zeros((1, self.input_dim), dtype=self.compute_dtype)
        self.latent.build((None, self.global_latents))
        self.local_latent.build((None, self.local_channels))
        self._log_weights(x)
        self.built = True

    def _has_rbm_prior(self):
        return self.global_prior == "rbm"

    # --------------------------------------------------------------- data

    def check_data(self, x, name="x"):
        """Raises `ValueError` unless `x` is data this model can score.

        Binary (0/1) images for the Bernoulli output, integers 0..255 for the
        logistic mixture; flat (n, H·W·C) or shaped (n, H, W, C).
        """
        if isinstance(x, (np.ndarray, list)):
            array = np.asarray(x)
            if array.ndim == 4 and array.shape[1:] == self.image_shape:
                array = array.reshape(len(array), -1)
            if self.output_distribution == "bernoulli":
                return super().check_data(array, name)
            return self._check_pixels(array, name)
        return super().check_data(x, name)

    def _check_pixels(self, array, name):
        if array.ndim != 2 or array.shape[1] != self.input_dim:
            raise ValueError(
                f"`{name}` must have shape (num_examples, {self.input_dim}) or "
                f"(num_examples, {', '.join(map(str, self.image_shape))}). "
                f"Received: {name} with shape {array.shape}"
            )
        if array.dtype.kind not in "biuf":
            raise ValueError(
                f"`{name}` must be numeric. Received: {name} with dtype {array.dtype}"
            )
        bad = (array < 0) | (array > 255) | (array != np.round(array))
        if np.any(bad):
            raise ValueError(
                f"`{name}` must hold 8-bit pixel values (integers 0..255) for the "
                f"logistic-mixture output; {int(bad.sum())} value(s) are not, e.g. "
                f"{array[bad].flat[0]!r}. Received: {name} with shape {array.shape}"
            )

    def _unit(self, x):
        """Data as floats in [0, 1], flat."""
        x = _flatten(ops.cast(x, self.compute_dtype))
        return x if self.output_distribution == "bernoulli" else x / 255.0

    def adapt(self, x):
        """Centres the encoder's input by the mean of `x`; for binary images
        also starts the per-pixel output bias at logit(mean)."""
        self.check_data(x)
        array = np.asarray(x, "float64").reshape(len(x), -1)
        if self.output_distribution != "bernoulli":
            array = array / 255.0
        mean = array.mean(axis=0)
        self.input_mean.assign(mean.astype("float32"))
        if self.output_distribution == "bernoulli":
            p = np.clip(mean, 1e-3, 1 - 1e-3)
            self.pixel_bias.assign(
                np.log(p / (1 - p)).reshape(self.image_shape).astype("float32")
            )
        return self

    def output_bias(self):
        return self.pixel_bias if self.output_distribution == "bernoulli" else None

    # ----------------------------------------------------------- networks

    def _bottom_up(self, x, training):
        """(P/4 local features, flat global features) of data x."""
        height, width, _ = self.image_shape
        h = ops.reshape(self._unit(x) - self.input_mean, (-1, *self.image_shape))
        pad_h, pad_w = self._padded[0] - height, self._padded[1] - width
        if pad_h or pad_w:
            h = ops.pad(
                h,
                [
                    (0, 0),
                    (pad_h // 2, pad_h - pad_h // 2),
                    (pad_w // 2, pad_w - pad_w // 2),
                    (0, 0),
                ],
            )
        for layer in self.encoder_layers:
            if isinstance(layer, ResidualBlock):
                h = layer(h, training=training)
            else:
                h = layer(h)
        local = h
        top = self.encoder_top(ops.silu(h))
        return local, _flatten(top)

    def posterior(self, x, training=None, discrete=None, mode=False):
        """The global posterior: per-group parameters and samples (or modes).

        Returns lists over groups of logits (binary priors) or
        mean‖log-variance (Normal prior), and of ζ, z (`discrete`) or the
        mode (`mode=True`: 1[logit > 0], or the mean).
        """
        _, features = self._bottom_up(x, training)
        return self._global_posterior(features, training, discrete, mode)

    def _global_posterior(self, features, training, discrete, mode=False):
        params, samples = [], []
        for encoder in self.global_encoders:
            h = ops.concatenate([features, *samples], axis=-1)
            p = encoder(h, training=training)
            params.append(p)
            if self.global_prior == "normal":
                mean, log_var = split_gaussian(p)
                if mode:
                    sample = mean
                else:
                    noise = keras.random.normal(
                        ops.shape(mean), dtype=mean.dtype, seed=self._normal_seed
                    )
                    sample = mean + ops.exp(0.5 * log_var) * noise
            elif mode:
                sample = ops.cast(p > 0, p.dtype)
            else:
                sample = self.latent(p, training=training, discrete=discrete)
            samples.append(sample)
        return params, samples

    def _top_down(self, latents, features, training, discrete, local_values=None):
        """Runs the decoder from the global latents.

        With encoder `features`, each local group is drawn from its
        posterior and the per-example KL and log q of the local latents are
        accumulated; with `features=None` it is drawn from its prior.
        `local_values` (a list of per-group maps) fixes the local latents
        instead (brute-force enumeration in tests). log p of the local
        latents under their prior is accumulated in every case.

        Returns:
            (output parameters (n, H, W, ·), kl, log_q, log_p).
        """
        f = self.filters
        top = (self._padded[0] // 8, self._padded[1] // 8)
        s = ops.reshape(self.global_decoder(latents), (-1, *top, f))
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
            if features is not None:
                q_params = posterior(ops.silu(ops.concatenate([s, features], -1)))
            if local_values is not None:
                h = ops.cast(local_values[k], p_params.dtype)
            elif q_params is not None:
                h = self._sample_local(q_params, training, discrete)
            else:
                h = self._sample_local(p_params, training=False, discrete=True)
            log_p += self._local_log_prob(p_params, h)
            if q_params is not None:
                kl += self._local_kl(q_params, p_params)
                log_q += self._local_log_prob(q_params, h)
            s = block(s + projection(h), training=training)
        s = self.up_1(_upsample(s))
        s = _upsample(self.up_block(s, training=training))
        height, width, _ = self.image_shape
        top_h = (self._padded[0] - height) // 2
        top_w = (self._padded[1] - width) // 2
        s = s[:, top_h : top_h + height, top_w : top_w + width, :]
        out = self.output_layer(ops.silu(s))
        if self.output_distribution == "bernoulli":
            out = out + self.pixel_bias
        return out, kl, log_q, log_p

    def _sample_local(self, params, training, discrete):
        if self.local_latents == "normal":
            mean, log_var = split_gaussian(params)
            noise = keras.random.normal(
                ops.shape(mean), dtype=mean.dtype, seed=self._normal_seed
            )
            return mean + ops.exp(0.5 * log_var) * noise
        return self.local_latent(params, training=training, discrete=discrete)

    def _local_log_prob(self, params, h):
        """Per-example log-density (Normal) or log-probability (discrete h)
        of one local group's map under the factorial distribution `params`."""
        h = _flatten(h)
        if self.local_latents == "normal":
            mean, log_var = (_flatten(t) for t in split_gaussian(params))
            return normal_log_prob(h, mean, log_var)
        return ops.sum(Bernoulli(_flatten(params)).log_prob(h), axis=-1)

    def _local_kl(self, q_params, p_params):
        """Per-example KL(q ‖ p) of one local group given its parents."""
        if self.local_latents == "normal":
            q_mean, q_log_var = (_flatten(t) for t in split_gaussian(q_params))
            p_mean, p_log_var = (_flatten(t) for t in split_gaussian(p_params))
            return normal_kl(q_mean, q_log_var, p_mean, p_log_var)
        q, p = Bernoulli(_flatten(q_params)), Bernoulli(_flatten(p_params))
        return ops.sum(kl_divergence(q, p), axis=-1)

    def call(self, x, training=None):
        local, features = self._bottom_up(x, training)
        params, latents = self._global_posterior(features, training, None)
        latents = ops.concatenate(latents, axis=-1)
        out, local_kl, _, _ = self._top_down(latents, local, training, None)
        return {
            "posterior_params": ops.concatenate(params, axis=-1),
            "latents": latents,
            "output": out,
            "local_kl": local_kl,
        }

    # --------------------------------------------------------------- loss

    def _nll(self, x, out):
        """−log p(x | latents) per example."""
        if self.output_distribution == "bernoulli":
            return self.bernoulli_nll(_flatten(ops.cast(x, out.dtype)), _flatten(out))
        x = ops.reshape(self._unit(x), (-1, *self.image_shape)) * 2.0 - 1.0
        return -logistic_mixture.log_prob(x, out, self.num_mixtures)

    def _global_kl(self, y_pred, training):
        params = y_pred["posterior_params"]
        if self.global_prior == "normal":
            mean, log_var = self._split_normal_params(params)
            zeros = ops.zeros_like(mean)
            return normal_kl(mean, log_var, zeros, zeros)
        if self.global_prior == "bernoulli":
            prior = Bernoulli(ops.broadcast_to(self.prior_logits, ops.shape(params)))
            return ops.sum(kl_divergence(Bernoulli(params), prior), axis=-1)
        mu = ops.sigmoid(params)
        nu = self._own_posterior_all(params, y_pred["latents"], training)
        half = self.global_latents // 2
        cross_entropy = self.prior.cross_entropy_terms(
            mu[:, :half], mu[:, half:], nu[:, :half]
        )
        entropy = ops.sum(bernoulli_entropy(params), axis=-1)
        return cross_entropy + self._log_partition_term(training) - entropy

    def _split_normal_params(self, params):
        """Concatenated per-group mean‖log-variance → (means, log-variances)."""
        n = self.global_latents // self.global_groups
        groups = [
            split_gaussian(params[:, 2 * n * g : 2 * n * (g + 1)])
            for g in range(self.global_groups)
        ]
        return (
            ops.concatenate([m for m, _ in groups], axis=-1),
            ops.concatenate([v for _, v in groups], axis=-1),
        )

    def _own_posterior_all(self, logits, latents, training):
        """ν: q(z=1|x, ζ_g) for all but the last group (μ there), as in DVAEPP."""
        n = self.global_latents // self.global_groups
        parts = []
        for g in range(self.global_groups):
            lg, zg = logits[:, g * n : (g + 1) * n], latents[:, g * n : (g + 1) * n]
            if g == self.global_groups - 1:
                parts.append(ops.sigmoid(lg))
            elif not training:
                parts.append(zg)
            else:
                parts.append(ops.sigmoid(self.latent.family.posterior_logits(zg, lg)))
        return ops.concatenate(parts, axis=-1)

    def weight_penalty(self):
        """λ/2 Σ w² over every convolution and dense kernel (and the RBM's W)."""
        if not self.weight_decay:
            return 0.0
        kernels = [
            v
            for v in self.trainable_variables
            if v.path.endswith("kernel") or v.path.endswith("/W")
        ]
        return 0.5 * self.weight_decay * sum(ops.sum(w * w) for w in kernels)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        reconstruction = self._nll(x, y_pred["output"])
        kl = self._global_kl(y_pred, training) + y_pred["local_kl"]
        self._track(reconstruction, kl)
        loss = ops.mean(reconstruction + self.kl_weight * kl)
        return loss + self.weight_penalty()

    # ----------------------------------------------------- discrete limit

    def _global_log_probs(self, params, latents):
        """(log q(z|x), log p(z)) of the global latents, per example."""
        params = ops.concatenate(params, axis=-1)
        z = ops.concatenate(latents, axis=-1)
        if self.global_prior == "normal":
            mean, log_var = self._split_normal_params(params)
            zeros = ops.zeros_like(mean)
            return normal_log_prob(z, mean, log_var), normal_log_prob(z, zeros, zeros)
        log_q = ops.sum(Bernoulli(params).log_prob(z), axis=-1)
        if self.global_prior == "bernoulli":
            logits = ops.broadcast_to(self.prior_logits, ops.shape(z))
            return log_q, ops.sum(Bernoulli(logits).log_prob(z), axis=-1)
        half = self.global_latents // 2
        log_p = -self.prior.energy(z[:, :half], z[:, half:]) - ops.cast(
            self.log_partition, z.dtype
        )
        return log_q, log_p

    def _log_weights(self, x):
        local, features = self._bottom_up(x, False)
        params, latents = self._global_posterior(features, False, True)
        log_q, log_p = self._global_log_probs(params, latents)
        out, _, local_log_q, local_log_p = self._top_down(
            ops.concatenate(latents, axis=-1), local, False, True
        )
        return -self._nll(x, out) + log_p + local_log_p - log_q - local_log_q

    def _sample_prior(self, num_samples, sweeps=1000):
        """Global latents z ~ p(z) (Gibbs chains of `sweeps` sweeps for the RBM)."""
        shape = (num_samples, self.global_latents)
        if self.global_prior == "normal":
            return keras.random.normal(shape, seed=self._normal_seed)
        if self.global_prior == "bernoulli":
            logits = ops.broadcast_to(self.prior_logits, shape)
            return self.latent(logits, discrete=True)
        z1, z2 = self.prior.sample(num_samples, sweeps=sweeps)
        return ops.concatenate([z1, z2], axis=-1)

    def encode(self, x, sample=False):
        """Global codes of `x` and their probabilities q(z_g=1|x, z_<g).

        For the all-continuous variant the codes are the posterior means
        (or samples) and the second array holds the standard deviations.

        Returns:
            (codes, probabilities), NumPy arrays (n, global_latents).
        """
        self.check_data(x)
        x = ops.convert_to_tensor(np.asarray(x).reshape(len(x), -1))
        params, codes = self.posterior(
            x, training=False, discrete=True, mode=not sample
        )
        params = ops.concatenate(params, axis=-1)
        if self.global_prior == "normal":
            spread = ops.exp(0.5 * self._split_normal_params(params)[1])
        else:
            spread = ops.sigmoid(params)
        return (
            ops.convert_to_numpy(ops.concatenate(codes, axis=-1)),
            ops.convert_to_numpy(spread),
        )

    def feature_extractor(self, output="probabilities", name=None):
        """The global encoder as a deterministic `keras.Model` of the images.

        A functional model around a `GlobalCodeFeatures` layer that holds
        this VAE: the pass of `encode(x)` (each global group's mode code
        given the earlier groups') as a model that drops into a functional
        or `Sequential` model. Fine-tuning it trains this VAE's encoder;
        `extractor.trainable = False` freezes it.

        Args:
            output: "probabilities" (q(z=1|x, z_<g), differentiable),
                "codes" (0/1 mode codes, no gradient: hashing, frozen
                features) or "logits".
            name: the model's name (default "<vae name>_features").

        Returns:
            A `keras.Model` mapping (n, H·W·C) images to (n, global_latents).

        Raises:
            ValueError: for an unknown `output`, or a Normal global prior
                (no binary codes).

        Example:

        >>> import keras, numpy as np
        >>> from keras_dvae.models import ConvDVAEPP
        >>> vae = ConvDVAEPP(image_shape=(8, 8, 1), global_latents=8,
        ...                  local_groups=1, filters=8, global_units=16,
        ...                  num_chains=4, gibbs_sweeps=1)
        >>> x = (np.random.rand(20, 64) > 0.5).astype("float32")
        >>> codes = vae.feature_extractor("codes").predict(x, verbose=0)
        >>> bool(np.all(codes == vae.encode(x)[0]))
        True
        """
        if output not in FEATURE_OUTPUTS:
            raise ValueError(
                f"`output` must be one of {FEATURE_OUTPUTS}. "
                f"Received: output={output!r}"
            )
        inputs = keras.Input(shape=(self.input_dim,), name="x")
        layer = GlobalCodeFeatures(self, output_type=output, name="global_codes")
        return keras.Model(inputs, layer(inputs), name=name or f"{self.name}_features")

    def decode(self, z):
        """Images for global latents z, local latents drawn from the prior.

        Returns p(x=1|·) for binary images, or a sample k/255 for 8-bit
        images; shape (n, H·W·C).
        """
        out, _, _, _ = self._top_down(
            ops.convert_to_tensor(z, self.compute_dtype), None, False, True
        )
        return self._images(out)

    def _images(self, out):
        """p(x=1|·) (Bernoulli) or a sample k/255 (logistic mixture), flat."""
        if self.output_distribution == "bernoulli":
            return _flatten(ops.sigmoid(out))
        return _flatten(
            logistic_mixture.sample(
                out, self.image_shape[-1], self.num_mixtures, seed=self._output_seed
            )
        )

    def reconstruct(self, x):
        """One stochastic reconstruction of `x` through the discrete posterior."""
        self.check_data(x)
        x = ops.convert_to_tensor(np.asarray(x).reshape(len(x), -1))
        local, features = self._bottom_up(x, False)
        _, latents = self._global_posterior(features, False, True)
        out, _, _, _ = self._top_down(
            ops.concatenate(latents, axis=-1), local, False, True
        )
        return self._images(out)

    def generate(self, num_samples, **kwargs):
        """Images from the model, (n, H·W·C): p(x=1|·) or 8-bit samples / 255."""
        num_samples = checks.check_positive_int("num_samples", num_samples)
        return self.decode(self._sample_prior(num_samples, **kwargs))

    def get_config(self):
        config = super().get_config()
        config.pop("input_dim")
        config.update(
            {
                "image_shape": list(self.image_shape),
                "global_latents": self.global_latents,
                "global_groups": self.global_groups,
                "global_prior": self.global_prior,
                "smoothing": smoothing_lib.serialize(self.smoothing),
                "local_groups": self.local_groups,
                "local_channels": self.local_channels,
                "local_latents": self.local_latents,
                "filters": self.filters,
                "global_units": self.global_units,
                "output_distribution": self.output_distribution,
                "num_mixtures": self.num_mixtures,
                "num_chains": self.num_chains,
                "gibbs_sweeps": self.gibbs_sweeps,
                "weight_decay": self.weight_decay,
            }
        )
        return config

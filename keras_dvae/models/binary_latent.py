"""Binary-latent VAEs: hierarchical smoothed posterior, MLP decoder."""

import keras
from keras import ops

from keras_dvae import smoothing as smoothing_lib
from keras_dvae.distributions import Bernoulli
from keras_dvae.layers import SmoothedBernoulli
from keras_dvae.models.base import DiscreteVAE, mlp, resolve_structure
from keras_dvae.models.features import feature_extractor
from keras_dvae.priors import bernoulli_entropy
from keras_dvae.utils import checks


class BinaryLatentVAE(DiscreteVAE):
    """Base of the binary-latent models: posterior, decoder, discrete limit.

    Approximate posterior over `num_groups` groups of `latents_per_group`
    binary units, hierarchical as in DVAE/DVAE++:

        q(z, ζ|x) = Π_g q(z_g | x, ζ_<g) r(ζ_g | z_g),

    each conditional an MLP of [x − mean, ζ_1, …, ζ_{g−1}] (its own
    network per group). The decoder p(x|ζ) is an MLP of all ζ. In training ζ
    is the smoothed relaxation; in evaluation the latent layer returns the
    discrete z, and every quantity (ELBO, importance weights) is that of
    the discrete model p(z) p(x|z), which is what the papers report.

    Subclasses define the prior: `_kl(y_pred, training)` (per example) and
    `_log_prior(z_groups)` (discrete), `_sample_prior(n)`.

    Args:
        input_dim: int, number of binary pixels.
        latents_per_group: int, binary units in each group (200 in the papers).
        num_groups: int, groups of the hierarchical posterior (1, 2, 4, ...).
        structure: "nonlinear" (two 200-unit tanh layers with batch norm
            per conditional), "linear" (a single linear map) or a tuple of
            hidden sizes.
        smoothing: smoothing family name, config or instance.
        weight_decay: L2 coefficient λ: the loss adds λ/2 Σ w² over every
            kernel (the reference code's `wd · l2_loss`, wd = 1e-4).
        seed: int or None.
        **kwargs: base `keras.Model` arguments.
    """

    def __init__(
        self,
        input_dim,
        latents_per_group=200,
        num_groups=1,
        structure="nonlinear",
        smoothing="overlapping_exponential",
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        super().__init__(input_dim=input_dim, seed=seed, **kwargs)
        self.latents_per_group = checks.check_positive_int(
            "latents_per_group", latents_per_group
        )
        self.num_groups = checks.check_positive_int("num_groups", num_groups)
        self.structure = structure
        self.hidden_units = resolve_structure(structure)
        self.smoothing = smoothing_lib.get(smoothing)
        if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
            raise ValueError(
                "`weight_decay` must be a number >= 0. "
                f"Received: weight_decay={weight_decay!r}"
            )
        self.weight_decay = float(weight_decay)
        self.encoders = [
            mlp(self.hidden_units, latents_per_group, f"encoder_{g}")
            for g in range(num_groups)
        ]
        self.decoder = mlp(self.hidden_units, input_dim, "decoder")
        self.latent = SmoothedBernoulli(self.smoothing, seed=seed, name="latent")

    @property
    def num_latents(self):
        """Total binary units, `latents_per_group × num_groups`."""
        return self.latents_per_group * self.num_groups

    def build(self, input_shape=None):
        width = self.input_dim
        for encoder in self.encoders:
            encoder.build((None, width))
            width += self.latents_per_group
        self.latent.build((None, self.latents_per_group))
        self.decoder.build((None, self._decoder_width()))
        self.built = True

    def _decoder_width(self):
        """Width of the decoder's input: the binary units (plus any extra)."""
        return self.num_latents

    def _split(self, t):
        n = self.latents_per_group
        return [t[..., g * n : (g + 1) * n] for g in range(self.num_groups)]

    def _kernels(self):
        return [
            layer.kernel
            for net in [*self.encoders, self.decoder, *self._extra_networks()]
            for layer in net.layers
            if isinstance(layer, keras.layers.Dense)
        ]

    def _extra_networks(self):
        return []

    def weight_penalty(self):
        """λ/2 Σ w² over every kernel (and the RBM coupling, in subclasses)."""
        if not self.weight_decay:
            return 0.0
        return 0.5 * self.weight_decay * sum(ops.sum(w * w) for w in self._kernels())

    # ------------------------------------------------------------ networks

    def posterior(self, x, training=None, discrete=None, mode=False):
        """Runs the hierarchical encoder: lists of per-group logits and ζ (or z).

        Each group's conditional sees x − mean and the earlier groups' ζ (z
        in the discrete limit). `mode=True` takes each group's most likely
        code 1[logit > 0] given the earlier codes instead of sampling.
        """
        xc = ops.cast(x, self.compute_dtype) - self.input_mean
        logits, latents = [], []
        for encoder in self.encoders:
            h = xc if not latents else ops.concatenate([xc, *latents], axis=-1)
            group_logits = encoder(h, training=training)
            logits.append(group_logits)
            if mode:
                code = ops.cast(group_logits > 0, group_logits.dtype)
            else:
                code = self.latent(group_logits, training=training, discrete=discrete)
            latents.append(code)
        return logits, latents

    def call(self, x, training=None):
        logits, latents = self.posterior(x, training=training)
        latents = ops.concatenate(latents, axis=-1)
        return {
            "posterior_logits": ops.concatenate(logits, axis=-1),
            "latents": latents,
            **self._decoder_outputs(x, latents, training),
            **self._prior_outputs(latents, training),
        }

    def _decoder_outputs(self, x, latents, training):
        """`call`'s decoder outputs: "reconstruction_logits" (and extras)."""
        return {"reconstruction_logits": self.decoder(latents, training=training)}

    def _prior_outputs(self, latents, training):
        """Extra per-example outputs of `call` that the prior's KL needs."""
        return {}

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        reconstruction = self.bernoulli_nll(x, y_pred["reconstruction_logits"])
        kl = self._kl(y_pred, training) + y_pred.get("extra_kl", 0.0)
        self._track(reconstruction, kl)
        loss = ops.mean(reconstruction + self.kl_weight * kl)
        return loss + self.weight_penalty()

    @staticmethod
    def posterior_entropy(logits):
        """Σ H(q(z_g|x, ζ_<g)) of factorial Bernoulli groups, per example."""
        return ops.sum(bernoulli_entropy(logits), axis=-1)

    # ----------------------------------------------------- discrete limit

    def _log_weights(self, x):
        logits, z = self.posterior(x, training=False, discrete=True)
        log_q = sum(
            ops.sum(Bernoulli(lg).log_prob(zg), axis=-1)
            for lg, zg in zip(logits, z, strict=True)
        )
        z = ops.concatenate(z, axis=-1)
        return self._log_px_given_codes(x, z) + self._log_prior(z) - log_q

    def _log_px_given_codes(self, x, z):
        """log p(x|z) (an importance-sampled estimate with extra latents)."""
        return -self.bernoulli_nll(x, self.decoder(z, training=False))

    def encode(self, x, sample=False):
        """Discrete codes of `x` and their probabilities q(z_g=1|x, z_<g).

        Args:
            x: binary data (n, input_dim).
            sample: draw z ~ q(z|x) (True) or take each group's mode given the
                earlier groups' codes (False, deterministic).

        Returns:
            (codes, probabilities), NumPy arrays (n, num_latents).
        """
        self.check_data(x)
        logits, codes = self.posterior(
            ops.convert_to_tensor(x), training=False, discrete=True, mode=not sample
        )
        return (
            ops.convert_to_numpy(ops.concatenate(codes, axis=-1)),
            ops.convert_to_numpy(ops.sigmoid(ops.concatenate(logits, axis=-1))),
        )

    def feature_extractor(self, output="probabilities", name=None):
        """The encoder as a deterministic `keras.Model` (input_dim,) → (num_latents,).

        A functional model around an `EncoderFeatures` layer that shares
        this VAE's encoder layers and input centring: the pass of
        `encode(x)` (each group's mode code given the earlier groups'
        codes) as a Keras model that drops into a functional or
        `Sequential` model. Fine-tuning it trains this VAE's encoder;
        `extractor.trainable = False` freezes it (the shared layers, so
        the VAE's encoder too, until set back to True).

        Args:
            output: "probabilities", q(z=1|x, z_<g), differentiable (use it
                to fine-tune); "codes", the binary mode codes as 0/1
                floats: a hard threshold with no gradient (hashing, frozen
                features); or "logits".
            name: the model's name (default "<vae name>_features").

        Returns:
            A `keras.Model` mapping (n, input_dim) to (n, num_latents).

        Example:

        >>> import keras, numpy as np
        >>> from keras_dvae.models import DVAEPP
        >>> vae = DVAEPP(input_dim=64, latents_per_group=8, structure=(32,),
        ...              num_chains=20, gibbs_sweeps=2)
        >>> x = (np.random.rand(60, 64) > 0.5).astype("float32")
        >>> y = np.random.randint(0, 10, 60)
        >>> classifier = keras.Sequential([
        ...     vae.feature_extractor(),          # shares vae's encoder
        ...     keras.layers.Dense(10, activation="softmax")])
        >>> classifier.compile("adam", "sparse_categorical_crossentropy")
        >>> history = classifier.fit(x, y, epochs=1, verbose=0)  # fine-tunes
        >>> classifier.layers[0].trainable = False  # now only Dense trains
        >>> codes = vae.feature_extractor("codes").predict(x, verbose=0)
        >>> bool(np.all(codes == vae.encode(x)[0]))
        True
        """
        return feature_extractor(self, self.encoders, None, output, name)

    def decode(self, z):
        """p(x=1|z) for codes (or relaxed ζ) z of shape (n, num_latents)."""
        return ops.sigmoid(self.decoder(ops.convert_to_tensor(z), training=False))

    def reconstruct(self, x):
        """p(x=1|z) with z ~ q(z|x) discrete: one stochastic reconstruction."""
        self.check_data(x)
        return self.decode(self.encode(x, sample=True)[0])

    def generate(self, num_samples, **kwargs):
        """Pixel probabilities p(x=1|z) for z ~ p(z), shape (n, input_dim)."""
        num_samples = checks.check_positive_int("num_samples", num_samples)
        return self.decode(self._sample_prior(num_samples, **kwargs))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "latents_per_group": self.latents_per_group,
                "num_groups": self.num_groups,
                "structure": (
                    self.structure
                    if isinstance(self.structure, str)
                    else list(self.hidden_units)
                ),
                "smoothing": smoothing_lib.serialize(self.smoothing),
                "weight_decay": self.weight_decay,
            }
        )
        return config

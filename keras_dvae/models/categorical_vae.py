"""A VAE with one-hot categorical latents: Gumbel-softmax or REINFORCE."""

import keras
import numpy as np
from keras import ops

from keras_dvae.distributions import (
    Categorical,
    MovingAverageBaseline,
    kl_divergence,
    score_function_surrogate,
)
from keras_dvae.layers import GumbelSoftmax
from keras_dvae.models.base import DiscreteVAE, mlp
from keras_dvae.models.features import feature_extractor
from keras_dvae.utils import checks

ESTIMATORS = ("gumbel_softmax", "straight_through", "score_function")
BASELINES = ("moving_average", "input_dependent", None)
PRIORS = ("uniform", "learned")
# NVIL's input-dependent baseline: one hidden layer of 100 tanh units
# (Mnih & Gregor 2014, their MNIST experiments).
BASELINE_HIDDEN_UNITS = (100,)
BASELINE_DECAY = 0.9


@keras.saving.register_keras_serializable(package="keras_dvae")
class CategoricalVAE(DiscreteVAE):
    """VAE with `num_latents` one-hot latents of `num_categories` categories.

    Generative model p(z) p(x|z): z is `num_latents` independent K-way
    one-hot vectors with a uniform (or learned factorial) prior, and
    p(x|z) a factorial Bernoulli whose logits are an MLP of the flattened
    one-hot z. The posterior q(z|x) is factorial categorical with logits
    from an MLP of the centred input (784-512-256 ReLU by default, as in
    the Jang et al. notebook and the Jeffares & Liu tutorial); the decoder
    mirrors the hidden sizes. The ELBO is

        E_q[log p(x|z)] − Σ_l KL(q(z_l|x) ‖ p(z_l)),

    with the KL analytic per latent (Σ_k q_k log q_k + log K for the
    uniform prior), and one of three gradient estimators for the first term:

    - "gumbel_softmax": the decoder sees the Gumbel-softmax relaxation
      y = softmax((logits + g)/τ) in training (reparameterised; Jang et al.
      2017, Maddison et al. 2017). τ is the `GumbelSoftmax` layer's
      "temperature" variable, annealed by `callbacks.TemperatureAnnealing`.
    - "straight_through": the decoder sees the hard one-hot argmax of y in
      the forward pass, with the relaxed gradient (Jang et al. §2.2).
    - "score_function": the decoder sees a hard z ~ q(z|x) and the encoder
      gets the REINFORCE gradient (f − b) ∇ log q(z|x) with learning signal
      f = log p(x|z) (Williams 1992; the Jeffares & Liu tutorial code).
      The KL is analytic and differentiated exactly, so the signal leaves
      out log p(z) − log q(z|x): putting them in f as well would count the
      KL's gradient twice. The baseline b is `baseline`: "moving_average",
      a running mean of f (`MovingAverageBaseline`, the tutorial's constant
      baseline), "input_dependent", NVIL's b(x) + c: a 100-unit tanh MLP
      of x trained to regress f − c, plus the running mean c of f − b(x),
      or None. With any baseline the estimate is unbiased; the loss adds
      zero for the REINFORCE term (and the baseline network's squared
      error, for "input_dependent"). NVIL's variance normalisation is left
      out: it would rescale the REINFORCE part but not the exact KL
      gradient, biasing their sum.

    Evaluation uses exact one-hot samples for every estimator, so the
    reported `elbo`, `reconstruction` and `kl` metrics are those of the
    discrete model (a one-sample estimate of the reconstruction), never a
    surrogate; `log_likelihood` is the importance-weighted bound with
    one-hot z ~ q(z|x).

    Args:
        input_dim: int, number of binary pixels.
        num_latents: int ≥ 1, categorical latents (30 in Jang et al.).
        num_categories: int ≥ 2, K (10 in Jang et al.).
        hidden_units: tuple of ints, the encoder's hidden sizes; the
            decoder uses them reversed. `()` gives linear maps.
        activation: activation of the hidden layers.
        estimator: "gumbel_softmax", "straight_through" or "score_function".
        temperature: float > 0, the initial τ of the relaxation (ignored by
            "score_function").
        baseline: "moving_average", "input_dependent" or None; used only by
            "score_function".
        prior: "uniform" (fixed) or "learned" (trainable prior logits of
            shape (num_latents, num_categories)).
        seed: int or None, seeds the model's samplers.
        **kwargs: base `keras.Model` arguments.

    Raises:
        ValueError: for a bad argument, naming it.

    Example:

    >>> import numpy as np
    >>> model = CategoricalVAE(input_dim=64, num_latents=4, num_categories=8,
    ...                        hidden_units=(32,), seed=0)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(100, 64) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=50, verbose=0)
    >>> codes, probs = model.encode(x[:4])   # (4, 4) ints, (4, 4, 8)
    >>> ll = model.log_likelihood(x[:4], num_samples=10)

    References:
        Jang, Gu, Poole, "Categorical Reparameterization with
        Gumbel-Softmax", ICLR 2017, §2 and §4.2; Maddison, Mnih, Teh, "The
        Concrete Distribution", ICLR 2017; Jeffares & Liu, "An Introduction
        to Discrete Variational Autoencoders", arXiv:2505.10344, 2025, and
        its code (github.com/alanjeffares/discreteVAE);
        Mnih & Gregor, "Neural Variational Inference and Learning in Belief
        Networks", ICML 2014, §3 (NVIL baselines).
    """

    def __init__(
        self,
        input_dim,
        num_latents=30,
        num_categories=10,
        hidden_units=(512, 256),
        activation="relu",
        estimator="gumbel_softmax",
        temperature=1.0,
        baseline="moving_average",
        prior="uniform",
        seed=None,
        **kwargs,
    ):
        super().__init__(input_dim=input_dim, seed=seed, **kwargs)
        self.num_latents = checks.check_positive_int("num_latents", num_latents)
        self.num_categories = checks.check_positive_int(
            "num_categories", num_categories, minimum=2
        )
        self.hidden_units = _check_hidden_units(hidden_units)
        try:
            keras.activations.get(activation)
        except (ValueError, TypeError):
            raise ValueError(
                "`activation` must name a Keras activation. "
                f"Received: activation={activation!r}"
            ) from None
        self.activation = activation
        if estimator not in ESTIMATORS:
            raise ValueError(
                f"`estimator` must be one of {ESTIMATORS}. "
                f"Received: estimator={estimator!r}"
            )
        self.estimator = estimator
        if not isinstance(temperature, (int, float, np.integer, np.floating)):
            raise ValueError(
                "`temperature` must be a finite number > 0. "
                f"Received: temperature={temperature!r}"
            )
        self.temperature = checks.check_positive_finite("temperature", temperature)
        if baseline not in BASELINES:
            raise ValueError(
                f"`baseline` must be one of {BASELINES}. "
                f"Received: baseline={baseline!r}"
            )
        self.baseline = baseline
        if prior not in PRIORS:
            raise ValueError(
                f"`prior` must be one of {PRIORS}. Received: prior={prior!r}"
            )
        self.prior = prior

        flat = self.num_latents * self.num_categories
        self.encoder = mlp(
            self.hidden_units, flat, "encoder", activation=activation, batch_norm=False
        )
        self.decoder = mlp(
            self.hidden_units[::-1],
            input_dim,
            "decoder",
            activation=activation,
            batch_norm=False,
        )
        self.prior_logits = self.add_weight(
            name="prior_logits",
            shape=(self.num_latents, self.num_categories),
            initializer="zeros",
            trainable=prior == "learned",
        )
        self.latent = None
        self.moving_baseline = None
        self.baseline_network = None
        if estimator == "score_function":
            # Offset so the training draws do not replay `log_likelihood`'s.
            self.seed_generator = keras.random.SeedGenerator(
                None if seed is None else seed + 1
            )
            if baseline is not None:
                self.moving_baseline = MovingAverageBaseline(
                    decay=BASELINE_DECAY,
                    name="moving_baseline",
                )
            if baseline == "input_dependent":
                self.baseline_network = mlp(
                    BASELINE_HIDDEN_UNITS,
                    1,
                    "baseline_network",
                    activation="tanh",
                    batch_norm=False,
                )
        else:
            self.latent = GumbelSoftmax(
                self.num_latents,
                self.num_categories,
                temperature=self.temperature,
                straight_through=estimator == "straight_through",
                seed=seed,
                name="latent",
            )
        self.build((None, input_dim))

    def build(self, input_shape=None):
        flat = self.num_latents * self.num_categories
        self.encoder.build((None, self.input_dim))
        self.decoder.build((None, flat))
        if self.latent is not None:
            self.latent.build((None, flat))
        if self.moving_baseline is not None:
            self.moving_baseline.build(())
        if self.baseline_network is not None:
            self.baseline_network.build((None, self.input_dim))
        self.built = True

    # ------------------------------------------------------------ networks

    def _centred(self, x):
        return ops.cast(x, self.compute_dtype) - self.input_mean

    def posterior_logits(self, x, training=None):
        """Logits of q(z|x), shape (n, num_latents, num_categories)."""
        logits = self.encoder(self._centred(x), training=training)
        return ops.reshape(logits, (-1, self.num_latents, self.num_categories))

    def _decode_logits(self, z, training=None):
        flat = ops.reshape(z, (-1, self.num_latents * self.num_categories))
        return self.decoder(flat, training=training)

    def call(self, x, training=None):
        logits = self.posterior_logits(x, training=training)
        if self.latent is not None:
            z = self.latent(logits, training=training)
        else:
            z = ops.stop_gradient(Categorical(logits).sample(seed=self.seed_generator))
        return {
            "reconstruction_logits": self._decode_logits(z, training=training),
            "posterior_logits": logits,
            "latents": z,
        }

    def _prior(self):
        return Categorical(ops.cast(self.prior_logits, self.compute_dtype))

    def _kl(self, logits):
        """Σ_l KL(q(z_l|x) ‖ p(z_l)), analytic, per example."""
        return ops.sum(kl_divergence(Categorical(logits), self._prior()), axis=-1)

    def _loss_terms(self, x, y_pred, training):
        """Per-example (reconstruction, KL, loss); the loss carries the gradient."""
        reconstruction = self.bernoulli_nll(x, y_pred["reconstruction_logits"])
        kl = self._kl(y_pred["posterior_logits"])
        loss = reconstruction + ops.cast(self.kl_weight, kl.dtype) * kl
        if self.estimator == "score_function":
            loss = loss + self._score_function_term(
                x, y_pred, -reconstruction, training
            )
        return reconstruction, kl, loss

    def _score_function_term(self, x, y_pred, signal, training):
        """REINFORCE surrogate for ∇_φ E_q[log p(x|z)]; zero-valued but for b(x)."""
        log_q = Categorical(y_pred["posterior_logits"]).log_prob(y_pred["latents"])
        learned = None
        if self.baseline_network is not None:
            learned = self.baseline_network(self._centred(x), training=training)[:, 0]
        baseline = None
        if self.moving_baseline is not None:
            centred = signal if learned is None else signal - learned
            baseline = self.moving_baseline(centred, training=training)
        return score_function_surrogate(
            log_q, signal, baseline=baseline, learned_baseline=learned
        )

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        reconstruction, kl, loss = self._loss_terms(x, y_pred, training)
        self._track(reconstruction, kl)
        return ops.mean(loss)

    # ----------------------------------------------------- discrete limit

    def _log_weights(self, x):
        logits = self.posterior_logits(x, training=False)
        z = Categorical(logits).sample(seed=self._eval_seed)
        log_px = -self.bernoulli_nll(x, self._decode_logits(z, training=False))
        log_pz = ops.sum(self._prior().log_prob(z), axis=-1)
        log_q = ops.sum(Categorical(logits).log_prob(z), axis=-1)
        return log_px + log_pz - log_q

    def encode(self, x, sample=False):
        """Codes of `x` and the probabilities q(z_l = k | x).

        Args:
            x: binary data (n, input_dim).
            sample: draw the codes from q(z|x) (True) or take each latent's
                mode (False, deterministic).

        Returns:
            (codes, probabilities): NumPy arrays, int category indices of
            shape (n, num_latents) and floats (n, num_latents, num_categories).
        """
        self.check_data(x)
        logits = self.posterior_logits(ops.convert_to_tensor(x), training=False)
        if sample:
            codes = ops.argmax(Categorical(logits).sample(seed=self._eval_seed), -1)
        else:
            codes = ops.argmax(logits, axis=-1)
        probs = ops.softmax(logits, axis=-1)
        return (
            np.asarray(ops.convert_to_numpy(codes)).astype("int64"),
            np.asarray(ops.convert_to_numpy(probs)),
        )

    def feature_extractor(self, output="probabilities", name=None):
        """The encoder as a deterministic `keras.Model` (input_dim,) → (L × K,).

        See `BinaryLatentVAE.feature_extractor`. Features are flattened
        per latent: "probabilities" the softmax q(z_l=k|x) (differentiable),
        "codes" the one-hot mode (argmax: no gradient), or "logits"; each of
        shape (n, num_latents × num_categories).

        Example:

        >>> import keras, numpy as np
        >>> vae = CategoricalVAE(input_dim=64, num_latents=1, num_categories=10,
        ...                      hidden_units=(32,))
        >>> x = (np.random.rand(60, 64) > 0.5).astype("float32")
        >>> probs = vae.feature_extractor().predict(x, verbose=0)   # (60, 10)
        >>> clusters = probs.argmax(axis=-1)          # == vae.encode(x)[0][:, 0]
        """
        return feature_extractor(
            self, [self.encoder], self.num_categories, output, name
        )

    def decode(self, z):
        """p(x=1|z), shape (n, input_dim).

        `z` is int codes (n, num_latents), one-hot (or relaxed) vectors
        (n, num_latents, num_categories), or those flattened.
        """
        z = ops.convert_to_tensor(z)
        shape = tuple(ops.shape(z))
        if len(shape) == 2 and shape[-1] == self.num_latents:
            z = ops.one_hot(ops.cast(z, "int32"), self.num_categories)
        elif not (
            (len(shape) == 2 and shape[-1] == self.num_latents * self.num_categories)
            or (
                len(shape) == 3 and shape[1:] == (self.num_latents, self.num_categories)
            )
        ):
            raise ValueError(
                f"`z` must have shape (n, {self.num_latents}) (codes), "
                f"(n, {self.num_latents}, {self.num_categories}) (one-hot) or "
                f"(n, {self.num_latents * self.num_categories}). "
                f"Received: z with shape {shape}"
            )
        z = ops.cast(z, self.compute_dtype)
        return ops.sigmoid(self._decode_logits(z, training=False))

    def reconstruct(self, x):
        """p(x=1|z) with z ~ q(z|x) one-hot: one stochastic reconstruction."""
        return self.decode(self.encode(x, sample=True)[0])

    def generate(self, num_samples):
        """Pixel probabilities p(x=1|z) for z ~ p(z), shape (n, input_dim)."""
        num_samples = checks.check_positive_int("num_samples", num_samples)
        logits = ops.broadcast_to(
            self._prior().logits,
            (num_samples, self.num_latents, self.num_categories),
        )
        return self.decode(Categorical(logits).sample(seed=self._eval_seed))

    def get_config(self):
        config = super().get_config()
        activation = self.activation
        if not isinstance(activation, str):
            activation = keras.activations.serialize(keras.activations.get(activation))
        config.update(
            {
                "num_latents": self.num_latents,
                "num_categories": self.num_categories,
                "hidden_units": list(self.hidden_units),
                "activation": activation,
                "estimator": self.estimator,
                "temperature": self.temperature,
                "baseline": self.baseline,
                "prior": self.prior,
            }
        )
        return config


def _check_hidden_units(hidden_units):
    message = (
        "`hidden_units` must be a tuple of positive ints. "
        f"Received: hidden_units={hidden_units!r}"
    )
    if isinstance(hidden_units, (str, bytes)):
        raise ValueError(message)
    try:
        units = tuple(hidden_units)
    except TypeError:
        raise ValueError(message) from None
    if not all(
        isinstance(h, (int, np.integer)) and not isinstance(h, bool) and h >= 1
        for h in units
    ):
        raise ValueError(message)
    return tuple(int(h) for h in units)

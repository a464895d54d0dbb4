"""A VAE with one-hot categorical latents: relaxed or with a gradient estimator."""

import math

import keras
from keras import ops

from keras_dvae import estimators
from keras_dvae.layers import GumbelSoftmax
from keras_dvae.layers.mlp import resolve_hidden_units
from keras_dvae.models import assembly
from keras_dvae.models.vae import DiscreteVAE, check_image_shape
from keras_dvae.networks import HierarchicalEncoder
from keras_dvae.priors import CategoricalPrior
from keras_dvae.utils import checks

RELAXATIONS = ("gumbel_softmax", "straight_through")
ESTIMATORS = RELAXATIONS + tuple(estimators.ESTIMATORS)
PRIORS = ("uniform", "learned")
KL_PENALTIES = ("elbo", "marginal")


@keras.saving.register_keras_serializable(package="keras_dvae")
class CategoricalVAE(DiscreteVAE):
    """VAE with `num_latents` one-hot latents of `num_categories` categories.

    p(z) is uniform or learned factorial (`CategoricalPrior`); p(x|z) is a
    factorial Bernoulli whose logits are an MLP of the flattened one-hot z;
    q(z|x) is factorial categorical with logits from an MLP of the centred
    input (784-512-256 ReLU by default, as in the Jang et al. notebook).
    The KL is analytic per latent (Σ_k q_k log q_k + log K when uniform);
    the reconstruction term's gradient comes from one of:

    - "gumbel_softmax": the decoder sees y = softmax((logits + g)/τ) in
      training; τ is the `GumbelSoftmax` layer's "temperature" variable
      (a `schedules` entry "temperature" anneals it).
    - "straight_through": the one-hot argmax of y forward, the relaxed
      gradient backward (Jang et al. §2.2).
    - "score_function": a hard z ~ q(z|x), REINFORCE with a baseline
      (`estimators.ScoreFunction`).
    - "disarm", "rebar", "relax", "vimco": the unbiased estimators of
      `keras_dvae.estimators` (hard codes, 2, 4 and K decoder passes); an
      `estimators.GradientEstimator` instance sets their options.

    Two options make the category carry what a cluster should (the
    clustering application's "categorical_vae_mixture"):

    - `local_units = D > 0`: a layer of D diagonal Gaussian latents h
      between the category and the pixels, p(x|h) p(h|z) q(h|x, z)
      (`MLPDecoder(direct_codes=False)`): with one one-hot latent, p(h) is
      a mixture of K Gaussians and h carries the style within a category.
    - `kl_penalty="marginal"`: the loss replaces the categorical latents'
      E_x KL(q(z|x) ‖ p(z)) = I(x; z) + KL(q̄(z) ‖ p(z)) with the second
      term alone, q̄ the batch mean of q(z|x) (InfoVAE with α = 1, Zhao et
      al. 2019): information in the category is free, its usage must still
      match the prior. With the ELBO's KL the 1 × 10 category of MNIST
      carries about 1.5 of its ln 10 = 2.3 nats and splits digits by
      stroke as readily as by class. The reported elbo and kl stay the
      ELBO's.

    Every estimator trains from `compile(); fit()`: `fit` centres an
    untrained model's input first (`DiscreteVAE.fit`), without which the
    first steps map every input to one code.

    Evaluation uses exact one-hot samples for every estimator; codes are
    flattened one-hot vectors (n, num_latents × num_categories).

    Args:
        num_latents: int ≥ 1, categorical latents (30 in Jang et al.).
        num_categories: int ≥ 2, K (10 in Jang et al.).
        hidden_units: the encoder's hidden sizes; the decoder uses them
            reversed. `()` gives linear maps.
        activation: activation of the hidden layers.
        estimator: one of `ESTIMATORS`, or a `estimators.GradientEstimator`.
        temperature: float > 0, the initial τ of the relaxation.
        baseline: "moving_average", "input_dependent" or None; used only by
            "score_function".
        prior: "uniform" (fixed) or "learned".
        local_units: int ≥ 0, Gaussian latents between the category and
            the pixels (0: none). Needs a relaxation (`RELAXATIONS`).
        kl_penalty: "elbo" or "marginal" (see above).
        image_shape, seed, **kwargs: see `DVAEPP`.

    Example:

    >>> import numpy as np
    >>> model = CategoricalVAE(image_shape=(16,), num_latents=2, num_categories=3,
    ...                        hidden_units=(8,), seed=0)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(4, 16) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=4, verbose=0)
    >>> codes, probs = model.encode(x)   # (4, 6) one-hot, (4, 6) softmax
    >>> ll = model.log_likelihood(x, num_samples=2)

    References:
        Jang, Gu, Poole, "Categorical Reparameterization with
        Gumbel-Softmax", ICLR 2017, §2 and §4.2; Maddison, Mnih, Teh, "The
        Concrete Distribution", ICLR 2017; Jeffares & Liu, "An Introduction
        to Discrete Variational Autoencoders", arXiv:2505.10344, 2025;
        Mnih & Gregor, "Neural Variational Inference and Learning in Belief
        Networks", ICML 2014, §3 (NVIL baselines); Dilokthanakul et al.,
        "Deep Unsupervised Clustering with Gaussian Mixture Variational
        Autoencoders", arXiv:1611.02648, 2016 (the mixture prior); Zhao,
        Song, Ermon, "InfoVAE", AAAI 2019 (the marginal KL).
    """

    def __init__(
        self,
        image_shape=(784,),
        num_latents=30,
        num_categories=10,
        hidden_units=(512, 256),
        activation="relu",
        estimator="gumbel_softmax",
        temperature=1.0,
        baseline="moving_average",
        prior="uniform",
        local_units=0,
        kl_penalty="elbo",
        seed=None,
        **kwargs,
    ):
        image_shape = check_image_shape(image_shape)
        local_units = checks.check_positive_int("local_units", local_units, minimum=0)
        assembly.check_choice("kl_penalty", kl_penalty, KL_PENALTIES)
        units = resolve_hidden_units(hidden_units)
        try:
            keras.activations.get(activation)
        except (ValueError, TypeError):
            raise ValueError(
                "`activation` must name a Keras activation. "
                f"Received: activation={activation!r}"
            ) from None
        if isinstance(estimator, dict):  # a config's estimator instance
            estimator = estimators.get(estimator)
        if not isinstance(estimator, estimators.GradientEstimator):
            assembly.check_choice("estimator", estimator, ESTIMATORS)
        assembly.check_choice("baseline", baseline, estimators.BASELINES)
        assembly.check_choice("prior", prior, PRIORS)
        if local_units and estimator not in RELAXATIONS:
            raise ValueError(
                "Local Gaussian latents (`local_units` > 0) need a relaxation "
                f"estimator {RELAXATIONS}: the other estimators decode hard "
                f"codes outside the decoder. Received: estimator={estimator!r}, "
                f"local_units={local_units}"
            )
        part = None
        if estimator == "score_function":
            part = estimators.ScoreFunction(baseline, seed=seed, name="estimator")
        elif estimator not in RELAXATIONS:
            part = estimators.get(estimator, seed=seed)
        super().__init__(
            encoder=HierarchicalEncoder(
                GumbelSoftmax(
                    num_latents,
                    num_categories,
                    temperature=temperature,
                    straight_through=estimator == "straight_through",
                    seed=seed,
                    name="latent",
                ),
                num_latents=num_latents,
                hidden_units=units,
                activation=activation,
                batch_norm=False,
                name="encoder",
            ),
            prior=CategoricalPrior(
                num_latents,
                num_categories,
                learned=prior == "learned",
                seed=seed,
                name="prior",
            ),
            **assembly.bernoulli_mlp_output(
                image_shape,
                units[::-1],
                activation=activation,
                batch_norm=False,
                seed=None if seed is None else seed + 1,
                **(
                    {
                        "context_dim": math.prod(image_shape),
                        "continuous_layers": 1,
                        "continuous_units": local_units,
                        "direct_codes": False,
                    }
                    if local_units
                    else {}
                ),
            ),
            image_shape=image_shape,
            weight_decay=0.0,
            estimator=part,
            seed=seed,
            **kwargs,
        )
        self.temperature = float(temperature)

    def latent_penalty(self, posterior, kl):
        """The ELBO's KL, or KL(q̄(z) ‖ p(z)) of the batch ("marginal")."""
        if self.kl_penalty == "elbo":
            return kl
        shape = (-1, self.prior.num_latents, self.prior.num_categories)
        q_bar = ops.mean(ops.reshape(posterior.probabilities, shape), axis=0)
        log_p = ops.log_softmax(
            ops.cast(self.prior.distribution.logits, q_bar.dtype), axis=-1
        )
        log_q = ops.log(ops.maximum(q_bar, 1e-12))
        return ops.zeros_like(kl) + ops.sum(q_bar * (log_q - log_p))

"""The gradient-estimator protocol, and the two kinds of discrete codes.

A `GradientEstimator` is a part of a `DiscreteVAE` (its `estimator`). In
training, the model's encoder gives the logits of q(z|x) and hands the
estimator a `Problem`; the estimator draws its own hard codes and returns
the per-example reconstruction −log p(x|z) (reported, and differentiated by
the decoder as is) and a loss whose gradient with respect to the logits is
the estimator's estimate of ∇ E_q[−log p(x|z)]. The model adds the KL
(analytic, differentiated exactly) unless the estimator's objective holds
it (`multi_sample`, VIMCO).

Codes are 0/1 units (`BinaryCoding`) or flattened one-hot latents
(`CategoricalCoding`); a coding knows how to draw them from logits and
uniform noise, so that every estimator serves both kinds.
"""

import keras
from keras import ops

from keras_dvae.distributions.categorical import Bernoulli, Categorical
from keras_dvae.utils import seed_state

# Uniform noise is drawn in [TINY, 1 − TINY]: its logit and −log(−log u)
# stay finite in float32.
TINY = 1e-6


class Problem:
    """What a model hands its estimator for one training batch.

    Attributes:
        logits: (n, P) the encoder's logits of q(z|x) (live: the estimator's
            loss differentiates through them).
        coding: `BinaryCoding` or `CategoricalCoding` of those logits.
        centred_x: (n, D) the centred input (for input-dependent baselines).
        kl_weight: the model's current KL weight (a scalar tensor).
    """

    def __init__(self, logits, coding, centred_x, kl_weight, nll, log_prior):
        self.logits = logits
        self.coding = coding
        self.centred_x = centred_x
        self.kl_weight = kl_weight
        self._nll = nll
        self._log_prior = log_prior

    @property
    def batch_size(self):
        return ops.shape(self.logits)[0]

    def nll(self, codes, frozen=False):
        """−log p(x|z) per example for each (n, P) tensor in `codes`.

        The codes are decoded in one pass (a batch norm sees them together).
        `frozen=True` treats the decoder's weights as constants (for control
        variates, which must not train the decoder).

        Returns:
            A list of (n,) tensors, one per entry of `codes`.
        """
        rows = ops.concatenate(codes, axis=0) if len(codes) > 1 else codes[0]
        values = self._nll(rows, len(codes), frozen)
        return ops.split(values, len(codes), axis=0) if len(codes) > 1 else [values]

    def log_prior(self, codes):
        """log p(z) per example, for (n, P) codes."""
        return self._log_prior(codes)


class BinaryCoding:
    """Independent binary units with logits α: z_i ~ Bernoulli(σ(α_i))."""

    num_categories = None

    def log_prob(self, logits, codes):
        """log q(z) per example."""
        return ops.sum(Bernoulli(logits).log_prob(codes), axis=-1)

    def sample(self, logits, seed):
        u = uniform(ops.shape(logits), seed)
        return ops.cast(u < ops.sigmoid(logits), logits.dtype)

    def score(self, logits, codes):
        """∇_α log q(z): z − σ(α)."""
        return codes - ops.sigmoid(logits)

    # The relaxation of REBAR/RELAX: v = α + logit(u), z = 1[v > 0].

    def perturb(self, logits, u):
        return logits + ops.log(u) - ops.log1p(-u)

    def hard(self, v):
        return ops.cast(v > 0, v.dtype)

    def conditional(self, logits, codes, u):
        """ṽ ~ p(v | z): u restricted to the interval that gives z."""
        theta, complement = ops.sigmoid(logits), ops.sigmoid(-logits)
        shifted = ops.where(codes > 0.5, complement + u * theta, u * complement)
        shifted = ops.clip(shifted, TINY, 1.0 - TINY)
        return logits + ops.log(shifted) - ops.log1p(-shifted)

    def relax(self, v, temperature):
        return ops.sigmoid(v / temperature)

    # DisARM's binary variables: the units themselves.

    def sticks(self, logits):
        return logits

    def from_sticks(self, bits):
        return bits

    def noise_shape(self, logits):
        return ops.shape(logits)


class CategoricalCoding:
    """`num_categories`-way one-hot latents, flattened latent-major (n, L·K)."""

    def __init__(self, num_categories):
        self.num_categories = int(num_categories)

    def blocks(self, t):
        return ops.reshape(t, (ops.shape(t)[0], -1, self.num_categories))

    def flat(self, t):
        return ops.reshape(t, (ops.shape(t)[0], -1))

    def log_prob(self, logits, codes):
        return ops.sum(
            Categorical(self.blocks(logits)).log_prob(self.blocks(codes)), axis=-1
        )

    def sample(self, logits, seed):
        return self.hard(self.perturb(logits, uniform(ops.shape(logits), seed)))

    def score(self, logits, codes):
        """∇_ℓ log q(z): z − softmax(ℓ), per latent."""
        return codes - self.flat(ops.softmax(self.blocks(logits), axis=-1))

    # Gumbel-max: v = log softmax(ℓ) + g, z = one_hot(argmax v).

    def perturb(self, logits, u):
        log_p = ops.log_softmax(self.blocks(logits), axis=-1)
        return self.flat(log_p - ops.log(-ops.log(self.blocks(u))))

    def hard(self, v):
        blocks = self.blocks(v)
        one_hot = ops.one_hot(ops.argmax(blocks, axis=-1), self.num_categories)
        return self.flat(ops.cast(one_hot, v.dtype))

    def conditional(self, logits, codes, u):
        """ṽ ~ p(v | z) (Tucker et al. 2017, appendix C).

        ṽ_b = −log(−log u_b)                        for the chosen b,
        ṽ_i = −log(−log(u_i) / p_i − log u_b)       for i ≠ b.
        """
        log_p = ops.log_softmax(self.blocks(logits), axis=-1)
        z = self.blocks(codes)
        log_e = ops.log(-ops.log(self.blocks(u)))  # log of Exp(1) draws
        log_e_chosen = ops.sum(z * log_e, axis=-1, keepdims=True)
        # In log space: p_i may underflow where the logits saturate.
        others = -ops.logaddexp(log_e - log_p, log_e_chosen)
        return self.flat(ops.where(z > 0.5, -log_e_chosen, others))

    def relax(self, v, temperature):
        return self.flat(ops.softmax(self.blocks(v) / temperature, axis=-1))

    # DisARM's binary variables: the stick-breaking coding of each latent,
    # P(stick k | sticks < k off) = p_k / Σ_{j≥k} p_j, k = 1..K−1.

    def sticks(self, logits):
        """η_k = log p_k − log Σ_{j>k} p_j, (n, L·(K−1))."""
        log_p = ops.log_softmax(self.blocks(logits), axis=-1)
        k = self.num_categories
        later = ops.convert_to_tensor(
            [[0.0 if j > i else -1e30 for j in range(k)] for i in range(k - 1)],
            dtype=log_p.dtype,
        )  # (K−1, K): row i keeps j > i
        tail = ops.logsumexp(log_p[..., None, :] + later, axis=-1)  # (n, L, K−1)
        return self.flat(log_p[..., : k - 1] - tail)

    def from_sticks(self, bits):
        """One-hot codes: the first stick on, or the last category."""
        bits = ops.reshape(bits, (ops.shape(bits)[0], -1, self.num_categories - 1))
        off_before = ops.cumprod(1.0 - bits, axis=-1)  # Π_{j≤k} (1 − b_j)
        ones = ops.ones_like(bits[..., :1])
        before = ops.concatenate([ones, off_before], axis=-1)  # Π_{j<k}
        chosen = ops.concatenate([bits, ones], axis=-1) * before
        return self.flat(chosen)

    def noise_shape(self, logits):
        n = ops.shape(logits)[0]
        return (
            n,
            ops.shape(logits)[1] // self.num_categories * (self.num_categories - 1),
        )


def coding_for(latent):
    """The coding of a latent layer's codes (one-hot if it has categories)."""
    if getattr(latent, "num_categories", None):
        return CategoricalCoding(latent.num_categories)
    if type(latent).__name__ == "SmoothedBernoulli":
        return BinaryCoding()
    raise ValueError(
        "Gradient estimators need binary or categorical latents. Received: a "
        f"latent layer of type {type(latent).__name__}"
    )


def uniform(shape, seed):
    return keras.random.uniform(shape, minval=TINY, maxval=1.0 - TINY, seed=seed)


class GradientEstimator(seed_state.SavesSeedState, keras.layers.Layer):
    """Base class of the estimators of ∇ E_q[−log p(x|z)] (see module doc).

    Subclasses implement `loss(problem, training)` and set `multi_sample`
    when their loss holds the whole objective (KL included).

    Args:
        seed: int or None, for the estimator's own `SeedGenerator`.
        **kwargs: base `Layer` arguments.
    """

    multi_sample = False

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape=None, num_values=None):
        """`input_shape`: (None, D) of the centred input; `num_values`: the
        codes' width."""
        self.built = True

    def loss(self, problem, training=None):
        """(reconstruction, loss), each per example (n,).

        The reconstruction is −log p(x|z) averaged over the estimator's
        codes. `loss` holds it (the decoder's gradient) plus surrogate
        terms whose gradient with respect to the logits is the estimate
        (zero-valued where possible, so that the loss reports the
        objective); `multi_sample` estimators' loss is their whole
        objective.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement loss")

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}

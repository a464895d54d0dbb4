"""REBAR and RELAX: control variates from the continuous relaxation."""

import math

import keras
from keras import ops

from keras_dvae.estimators.base import GradientEstimator, uniform
from keras_dvae.layers.mlp import mlp, resolve_hidden_units
from keras_dvae.utils import checks
from keras_dvae.utils.autodiff import gradient


@keras.saving.register_keras_serializable(package="keras_dvae")
class REBAR(GradientEstimator):
    """REINFORCE with the relaxation as control variate (Tucker et al. 2017).

    With v = α + noise (logistic for binary units, Gumbel for categorical
    ones; z = H(v) the hard code), ṽ ~ p(v | z) drawn with fresh noise, and
    c(v) = η f(σ_λ(v)) the relaxed model (σ_λ the sigmoid or softmax at
    temperature λ; f = −log p(x|·) with the decoder's weights held fixed):

        ĝ = (f(z) − c(ṽ)) ∇_α log q(z) + ∇_α c(v) − ∇_α c(ṽ)

    is unbiased for ∇_α E_q[f(z)] for any η, λ (∇_α c(ṽ) differentiates
    the reparameterised ṽ with z held). η and log λ are trainable weights:
    they descend the estimate's variance Σ ĝ² (its gradient goes to them
    only), as in the paper. Costs four decoder passes and a
    second-order gradient (`utils.autodiff`).

    Args:
        temperature: float > 0, the initial λ.
        eta: float, the initial η.
        seed: int or None.
        **kwargs: base `Layer` arguments.

    Example:

    >>> from keras_dvae.models import CategoricalVAE
    >>> model = CategoricalVAE(image_shape=(16,), num_latents=2,
    ...                        num_categories=3, estimator="rebar")

    References:
        Tucker, Mnih, Maddison, Lawson, Sohl-Dickstein, "REBAR: Low-variance,
        unbiased gradient estimates for discrete latent variable models",
        NeurIPS 2017, eq. 6 and appendix C (categorical).
    """

    def __init__(self, temperature=0.5, eta=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.temperature = checks.check_positive_finite("temperature", temperature)
        if (
            isinstance(eta, bool)
            or not isinstance(eta, (int, float))
            or not (math.isfinite(eta))
        ):
            raise ValueError(f"`eta` must be a finite number. Received: eta={eta!r}")
        self.eta = float(eta)

    def build(self, input_shape=None, num_values=None):
        self.log_temperature = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(math.log(self.temperature)),
            name="log_temperature",
        )
        self.eta_variable = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.eta), name="eta"
        )
        self.built = True

    def control_variate(self, problem, relaxed):
        """c at the relaxed codes: η f(relaxed), per example, for each entry."""
        eta = ops.cast(self.eta_variable, relaxed[0].dtype)
        return [eta * f for f in problem.nll(relaxed, frozen=True)]

    def loss(self, problem, training=None):
        coding, logits = problem.coding, problem.logits
        u = uniform(ops.shape(logits), self.seed_generator)
        u_given = uniform(ops.shape(logits), self.seed_generator)
        z = ops.stop_gradient(coding.hard(coding.perturb(logits, u)))
        (nll,) = problem.nll([z])

        def relaxed(a):
            temperature = ops.exp(ops.cast(self.log_temperature, a.dtype))
            return [
                coding.relax(coding.perturb(a, u), temperature),
                coding.relax(coding.conditional(a, z, u_given), temperature),
            ]

        def difference(a):
            c_v, c_given = self.control_variate(problem, relaxed(a))
            return c_v - c_given

        fixed = ops.stop_gradient(logits)
        (c_given,) = self.control_variate(problem, relaxed(fixed)[1:])
        estimate = (ops.stop_gradient(nll) - c_given)[:, None] * coding.score(
            fixed, z
        ) + gradient(difference, fixed)
        surrogate = ops.sum(ops.stop_gradient(estimate) * logits, axis=-1)
        variance = ops.sum(ops.square(estimate), axis=-1)
        # Zero-valued: the gradients count, not the values.
        return nll, nll + _zero_valued(surrogate) + _zero_valued(variance)

    def get_config(self):
        return {
            **super().get_config(),
            "temperature": self.temperature,
            "eta": self.eta,
        }


@keras.saving.register_keras_serializable(package="keras_dvae")
class RELAX(REBAR):
    """REBAR's control variate plus a learned network (Grathwohl et al. 2018).

        c(v) = η f(σ_λ(v)) + r_ρ(σ_λ(v))

    r_ρ a small tanh MLP of the relaxed code, trained with η and λ to
    minimise the estimate's variance; the estimate stays unbiased for any
    ρ. See `REBAR` for the rest.

    Args:
        hidden_units: r_ρ's hidden sizes.
        temperature, eta, seed, **kwargs: see `REBAR`.

    References:
        Grathwohl, Choi, Wu, Roeder, Duvenaud, "Backpropagation through the
        Void: Optimizing control variates for black-box gradient
        estimation", ICLR 2018, §3.3 and eq. 8.
    """

    def __init__(
        self, hidden_units=(50,), temperature=0.5, eta=1.0, seed=None, **kwargs
    ):
        super().__init__(temperature=temperature, eta=eta, seed=seed, **kwargs)
        self.hidden_units = resolve_hidden_units(hidden_units)
        self.network = mlp(
            self.hidden_units, 1, "control_variate", "tanh", batch_norm=False
        )

    def build(self, input_shape=None, num_values=None):
        super().build(input_shape, num_values)
        if num_values is None:
            raise ValueError(
                "RELAX builds its network for the codes' width. Received: "
                "num_values=None"
            )
        self.network.build((None, int(num_values)))

    def control_variate(self, problem, relaxed):
        learned = [self.network(r)[:, 0] for r in relaxed]
        return [
            c + r
            for c, r in zip(
                super().control_variate(problem, relaxed), learned, strict=True
            )
        ]

    def get_config(self):
        return {**super().get_config(), "hidden_units": list(self.hidden_units)}


def _zero_valued(t):
    return t - ops.stop_gradient(t)

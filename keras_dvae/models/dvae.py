"""DVAE (Rolfe 2016): spike-and-exponential smoothing with an RBM prior."""

import keras
from keras import ops

from keras_dvae.distributions.normal import (
    normal_kl,
    normal_log_prob,
    split_gaussian,
)
from keras_dvae.models.base import mlp
from keras_dvae.models.dvaepp import DVAEPP
from keras_dvae.priors import rbm_sampling
from keras_dvae.utils import checks

# Rolfe's estimator clips q below 1 in its (1 − z)/(1 − q) factor.
_MAX_PROBABILITY = 0.999


@keras.saving.register_keras_serializable(package="keras_dvae")
class DVAE(DVAEPP):
    """The discrete VAE of Rolfe (2016): spike-and-exponential, RBM prior.

    Same generative model, posterior and RBM as `DVAEPP`, with the
    spike-and-exponential smoothing (β = 4 in the reference recipe):
    ζ = 0 exactly when z = 0, so z is a function of ζ and the posterior
    of a unit given its own ζ is z itself. The KL's value is the DVAE++
    expression with ν = z for the earlier groups (an unbiased estimate);
    its gradient with respect to the encoder is Rolfe's estimator
    (arXiv:1609.02200v2, eqs. 11–12, as in the DVAE/DVAE# reference code):
    a surrogate Σ_i sg(l_i − a_i − c_i) q_i, with l the logits, a the RBM
    biases and c_i the coupling (W z̃)_i scaled by (1 − z_i)/(1 − q_i) for
    units of the first half, z̃ being the sampled z with the last group
    replaced by its probabilities. Its gradient through q is
    d(−H + E[E(z)])/dq. The RBM's own gradient is that of the DVAE++ form
    (positive phase on posterior statistics, negative phase on PCD
    chains). With one group both reduce to the closed-form factorial KL.

    Continuous layers (Rolfe 2016, §4). With `continuous_layers = L > 0`,
    L layers of Gaussian latents h_1..h_L sit below the discrete ones:

        p(x, h, ζ, z) = p(z) r(ζ|z) Π_l p(h_l | ζ, h_<l) p(x | ζ, h),
        q(h, ζ, z | x) = q(z, ζ|x) Π_l q(h_l | x, ζ, h_<l),

    each p(h_l|·) and q(h_l|·) a diagonal Gaussian whose mean and log
    variance come from an MLP of the same structure. The ELBO gains
    Σ_l E[KL(q(h_l|·) ‖ p(h_l|·))], analytic given the sampled ζ and h_<l;
    the importance weights of `log_likelihood` draw one h ~ q(h|x, z) per
    discrete z and add log p(h|z) − log q(h|x, z), so the estimate is the
    IWAE bound over (z, h) jointly.

    Args:
        input_dim: int, number of binary pixels.
        latents_per_group, num_groups, structure, num_chains, gibbs_sweeps,
            weight_decay, seed: see `DVAEPP`.
        smoothing: a spike-and-exponential family (default β = 4).
        continuous_layers: int ≥ 0, Gaussian layers below the discrete ones.
        continuous_units: int ≥ 1, units of each Gaussian layer.
        **kwargs: base `keras.Model` arguments.

    Example:

    >>> import numpy as np
    >>> model = DVAE(input_dim=64, latents_per_group=4, num_groups=2,
    ...              structure=(32,), num_chains=50, gibbs_sweeps=5)
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.rand(100, 64) > 0.5).astype("float32")
    >>> history = model.fit(x, epochs=1, batch_size=50, verbose=0)

    References:
        Rolfe, "Discrete Variational Autoencoders", ICLR 2017.
    """

    _default_smoothing = {
        "class_name": "SpikeAndExponential",
        "config": {"beta": 4.0},
    }

    def __init__(
        self, input_dim, *args, continuous_layers=0, continuous_units=64, **kwargs
    ):
        # Read by `_create_extra_networks`, which DVAEPP calls before `build`.
        self.continuous_layers = checks.check_positive_int(
            "continuous_layers", continuous_layers, minimum=0
        )
        self.continuous_units = checks.check_positive_int(
            "continuous_units", continuous_units
        )
        super().__init__(input_dim, *args, **kwargs)

    # ------------------------------------------------- continuous layers

    def _create_extra_networks(self):
        self.continuous_posteriors = [
            mlp(self.hidden_units, 2 * self.continuous_units, f"continuous_q_{i}")
            for i in range(self.continuous_layers)
        ]
        self.continuous_priors = [
            mlp(self.hidden_units, 2 * self.continuous_units, f"continuous_p_{i}")
            for i in range(self.continuous_layers)
        ]
        self._continuous_seed = keras.random.SeedGenerator(
            None if self.seed is None else self.seed + 1
        )

    def build(self, input_shape=None):
        super().build(input_shape)
        width = self.num_latents
        for q_net, p_net in zip(
            self.continuous_posteriors, self.continuous_priors, strict=True
        ):
            q_net.build((None, self.input_dim + width))
            p_net.build((None, width))
            width += self.continuous_units

    def _decoder_width(self):
        return self.num_latents + self.continuous_layers * self.continuous_units

    def _extra_networks(self):
        return [*self.continuous_posteriors, *self.continuous_priors]

    def _continuous(self, x, latents, training):
        """Samples h ~ q(h|x, ζ): (decoder input, Σ log q(h), Σ log p(h), KL)."""
        xc = ops.cast(x, latents.dtype) - self.input_mean
        above = [latents]
        log_q = log_p = kl = 0.0
        for q_net, p_net in zip(
            self.continuous_posteriors, self.continuous_priors, strict=True
        ):
            context = ops.concatenate(above, axis=-1)
            q_mean, q_log_var = split_gaussian(
                q_net(ops.concatenate([xc, context], axis=-1), training=training)
            )
            p_mean, p_log_var = split_gaussian(p_net(context, training=training))
            noise = keras.random.normal(
                ops.shape(q_mean), dtype=q_mean.dtype, seed=self._continuous_seed
            )
            h = q_mean + ops.exp(0.5 * q_log_var) * noise
            log_q += normal_log_prob(h, q_mean, q_log_var)
            log_p += normal_log_prob(h, p_mean, p_log_var)
            kl += normal_kl(q_mean, q_log_var, p_mean, p_log_var)
            above.append(h)
        return ops.concatenate(above, axis=-1), log_q, log_p, kl

    def _decoder_outputs(self, x, latents, training):
        if not self.continuous_layers:
            return super()._decoder_outputs(x, latents, training)
        inputs, _, _, kl = self._continuous(x, latents, training)
        return {
            "reconstruction_logits": self.decoder(inputs, training=training),
            "extra_kl": kl,
        }

    def _log_px_given_codes(self, x, z):
        if not self.continuous_layers:
            return super()._log_px_given_codes(x, z)
        inputs, log_q, log_p, _ = self._continuous(x, z, training=False)
        log_px = -self.bernoulli_nll(x, self.decoder(inputs, training=False))
        return log_px + log_p - log_q

    def decode(self, z):
        """p(x=1|z, h) with h ~ p(h|z) drawn ancestrally (z alone without layers)."""
        inputs = [ops.convert_to_tensor(z, self.compute_dtype)]
        for p_net in self.continuous_priors:
            mean, log_var = split_gaussian(
                p_net(ops.concatenate(inputs, axis=-1), training=False)
            )
            noise = keras.random.normal(
                ops.shape(mean), dtype=mean.dtype, seed=self._continuous_seed
            )
            inputs.append(mean + ops.exp(0.5 * log_var) * noise)
        return ops.sigmoid(
            self.decoder(ops.concatenate(inputs, axis=-1), training=False)
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "continuous_layers": self.continuous_layers,
                "continuous_units": self.continuous_units,
            }
        )
        return config

    # ------------------------------------------------------------- KL

    def _check_smoothing(self):
        if type(self.smoothing).__name__ != "SpikeAndExponential":
            raise ValueError(
                "DVAE uses the spike-and-exponential smoothing; for overlapping "
                "families use DVAEPP. Received: "
                f"smoothing={type(self.smoothing).__name__}"
            )

    def _own_posterior(self, logits, latents, training):
        # ζ = 0 exactly when z = 0: the posterior given ζ is z = 1[ζ > 0].
        return ops.cast(latents > 0, logits.dtype)

    def _kl(self, y_pred, training):
        if not training or self.num_groups == 1:
            # One group: the factorial closed form (ν = μ) is exact and has
            # the right gradient; evaluation: the discrete KL.
            return super()._kl(y_pred, training)
        logits = ops.clip(y_pred["posterior_logits"], -88.0, 88.0)
        mu = ops.sigmoid(logits)
        codes = ops.stop_gradient(
            self._posterior_of_own_zeta(logits, y_pred["latents"], training)
        )
        mu1, mu2 = self._halves(ops.stop_gradient(mu))
        codes1, codes2 = self._halves(codes)
        cross_entropy = self.prior.cross_entropy_terms(mu1, mu2, codes1)
        entropy = self.posterior_entropy(logits)
        # Rolfe's surrogate for the encoder's gradient.
        w = ops.cast(self.prior.W, logits.dtype)
        coupling = ops.concatenate(
            [
                rbm_sampling.matmul_last_axis(codes2, ops.transpose(w)),
                rbm_sampling.matmul_last_axis(codes1, w),
            ],
            axis=-1,
        )
        q = ops.minimum(mu, _MAX_PROBABILITY)
        scale1, _ = self._halves((1.0 - codes) / (1.0 - q))
        scale = ops.concatenate([scale1, ops.ones_like(codes2)], axis=-1)
        bias = ops.concatenate([self.prior.a1, self.prior.a2], axis=-1)
        coefficient = ops.stop_gradient(logits - bias - coupling * scale)
        surrogate = ops.sum(coefficient * q, axis=-1)
        return (
            cross_entropy
            + self._log_partition_term(training)
            - ops.stop_gradient(entropy)
            + surrogate
            - ops.stop_gradient(surrogate)
        )

"""DVAE (Rolfe 2016): spike-and-exponential smoothing with an RBM prior."""

import keras
from keras import ops

from keras_dvae.models.dvaepp import DVAEPP
from keras_dvae.priors import rbm_sampling

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

    Args:
        input_dim: int, number of binary pixels.
        latents_per_group, num_groups, structure, num_chains, gibbs_sweeps,
            weight_decay, seed: see `DVAEPP`.
        smoothing: a spike-and-exponential family (default β = 4).
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

"""DisARM: antithetic pairs of codes, one decoder pass for both."""

import keras
from keras import ops

from keras_dvae.estimators.base import GradientEstimator, uniform


@keras.saving.register_keras_serializable(package="keras_dvae")
class DisARM(GradientEstimator):
    """Unbiased antithetic estimator for binary units (Dong et al. 2020).

    Binary units with logits α share one uniform u per unit between two
    codes, b = 1[u < σ(α)] and b̃ = 1[1 − u < σ(α)]; per unit

        ĝ_i = ½ (f(b) − f(b̃)) (−1)^{b̃_i} 1[b_i ≠ b̃_i] σ(|α_i|)

    is an unbiased estimate of ∂E[f(b)]/∂α_i (f = −log p(x|z) here, whose
    average over the pair is the reconstruction). It costs two decoder
    passes and needs no baseline.

    Categorical latents use the stick-breaking coding of each K-way
    latent into K − 1 binary variables, P(stick k on | sticks before it
    off) = p_k / Σ_{j≥k} p_j (the code is the first stick on, else K), with
    DisARM on those variables; their logits η are differentiable functions
    of the latent's logits, so the estimate flows back to them. This is the
    binary reduction Dong, Mnih & Tucker (2021) build their categorical
    estimators on; it is unbiased, though not their lowest-variance one.

    Args:
        seed: int or None.
        **kwargs: base `Layer` arguments.

    Example:

    >>> from keras_dvae.models import CategoricalVAE
    >>> model = CategoricalVAE(image_shape=(16,), num_latents=2,
    ...                        num_categories=3, estimator="disarm")

    References:
        Dong, Mnih, Tucker, "DisARM: An Antithetic Gradient Estimator for
        Binary Latent Variables", NeurIPS 2020, eq. 5; Yin & Zhou, "ARM:
        Augment-REINFORCE-Merge Gradient for Stochastic Binary Networks",
        ICLR 2019; Dong, Mnih, Tucker, "Coupled Gradient Estimators for
        Discrete Latent Variables", NeurIPS 2021, §3 (stick-breaking).
    """

    def loss(self, problem, training=None):
        coding = problem.coding
        eta = coding.sticks(problem.logits)
        u = uniform(coding.noise_shape(problem.logits), self.seed_generator)
        threshold = ops.sigmoid(eta)
        bits = ops.cast(u < threshold, eta.dtype)
        antithetic = ops.cast(1.0 - u < threshold, eta.dtype)
        first, second = problem.nll(
            [coding.from_sticks(bits), coding.from_sticks(antithetic)]
        )
        difference = ops.stop_gradient(0.5 * (first - second))[:, None]
        sign = 1.0 - 2.0 * antithetic  # (−1)^b̃
        weight = ops.stop_gradient(
            difference * sign * ops.abs(bits - antithetic) * ops.sigmoid(ops.abs(eta))
        )
        surrogate = ops.sum(weight * (eta - ops.stop_gradient(eta)), axis=-1)
        reconstruction = 0.5 * (first + second)
        return reconstruction, reconstruction + surrogate

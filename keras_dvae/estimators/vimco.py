"""VIMCO: the multi-sample bound with leave-one-out learning signals."""

import math

import keras
from keras import ops

from keras_dvae.estimators.base import GradientEstimator
from keras_dvae.utils import checks


@keras.saving.register_keras_serializable(package="keras_dvae")
class VIMCO(GradientEstimator):
    """Trains the K-sample importance-weighted bound (Mnih & Rezende 2016).

    With K codes z_k ~ q(z|x) and log w_k = log p(x|z_k) + κ (log p(z_k) −
    log q(z_k|x)) (κ the model's KL weight, 1 after warm-up),

        L     = log (1/K) Σ_k w_k
        L₋ₖ   = L with log w_k replaced by the mean of the other log w_j
        ∇L   ≈ Σ_k (L − L₋ₖ) ∇ log q(z_k|x) + Σ_k w̃_k ∇ log w_k

    (w̃ the normalised weights). The loss is −L plus a zero-valued
    surrogate for the first sum; the KL is inside L, so the model does not
    add it. The reconstruction reported is the mean of −log p(x|z_k).

    Args:
        num_samples: int ≥ 2, K (decoder passes per example).
        seed: int or None.
        **kwargs: base `Layer` arguments.

    Example:

    >>> from keras_dvae import estimators
    >>> from keras_dvae.models import CategoricalVAE
    >>> model = CategoricalVAE(image_shape=(16,), num_latents=2, num_categories=3,
    ...                        estimator=estimators.VIMCO(num_samples=5))

    References:
        Mnih & Rezende, "Variational Inference for Monte Carlo Objectives",
        ICML 2016, eqs. 9-10; Burda, Grosse, Salakhutdinov, "Importance
        Weighted Autoencoders", ICLR 2016.
    """

    multi_sample = True

    def __init__(self, num_samples=5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.num_samples = checks.check_positive_int(
            "num_samples", num_samples, minimum=2
        )

    def loss(self, problem, training=None):
        coding, logits = problem.coding, problem.logits
        k = self.num_samples
        codes = [coding.sample(logits, self.seed_generator) for _ in range(k)]
        nll = ops.stack(problem.nll(codes), axis=1)  # (n, K)
        log_q = ops.stack([coding.log_prob(logits, z) for z in codes], axis=1)
        log_p = ops.stack([problem.log_prior(z) for z in codes], axis=1)
        weight = ops.cast(problem.kl_weight, nll.dtype)
        log_w = -nll + weight * (log_p - log_q)
        bound = ops.logsumexp(log_w, axis=1) - math.log(k)
        signal = ops.stop_gradient(bound[:, None] - _leave_one_out(log_w))
        surrogate = ops.sum(signal * (log_q - ops.stop_gradient(log_q)), axis=1)
        return ops.mean(nll, axis=1), -bound - surrogate

    def get_config(self):
        return {**super().get_config(), "num_samples": self.num_samples}


def _leave_one_out(log_w):
    """L₋ₖ for every k: log w_k replaced by the mean of the others, (n, K)."""
    log_w = ops.stop_gradient(log_w)
    k = ops.shape(log_w)[1]
    others = (ops.sum(log_w, axis=1, keepdims=True) - log_w) / (k - 1)
    eye = ops.eye(k, dtype=log_w.dtype)
    replaced = log_w[:, None, :] * (1.0 - eye) + others[:, :, None] * eye  # (n, K, K)
    return ops.logsumexp(replaced, axis=-1) - math.log(k)

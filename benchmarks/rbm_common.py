"""RBMs for the RBM benchmarks: trained-looking, multimodal, reproducible."""

import platform

import keras
import numpy as np

from keras_dvae.priors import RBMPrior


def trained_like_rbm(n, seed, modes=3):
    """An n + n RBM with SK-like noise plus `modes` strong rank-one patterns.

    W = N(0, 0.3² · 12/n) + Σ_m (6.93/n) u_m v_mᵀ with u, v ∈ {±1}^n, and
    biases -W·1/2 + N(0, 0.3²): at n = 12 the family of the tests
    (tests/priors/rbm_reference.trained_like_rbm); the scaling keeps every
    unit's field O(1) as n grows, so each pattern gives a pair of modes
    whose barrier grows with n.
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.3 * np.sqrt(12.0 / n), (n, n))
    for _ in range(modes):
        u, v = rng.choice([-1.0, 1.0], n), rng.choice([-1.0, 1.0], n)
        w += 2.0 * np.sqrt(12.0) / n * np.outer(u, v)
    a1 = -0.5 * w.sum(1) + rng.normal(0.0, 0.3, n)
    a2 = -0.5 * w.sum(0) + rng.normal(0.0, 0.3, n)
    return a1, a2, w


def make_prior(a1, a2, w, **kwargs):
    prior = RBMPrior(len(a1), len(a2), **kwargs)
    prior.a1.assign(np.asarray(a1, "float32"))
    prior.a2.assign(np.asarray(a2, "float32"))
    prior.W.assign(np.asarray(w, "float32"))
    return prior


def describe_machine():
    import os

    return (
        f"backend={keras.backend.backend()} keras={keras.__version__} "
        f"cpu={platform.processor() or platform.machine()} cores={os.cpu_count()}"
    )

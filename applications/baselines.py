"""Baselines: random-projection LSH, PCA(-ITQ), k-means, a Gaussian VAE.

Each hashing baseline is fitted on the database (training) set and maps
rows to 0/1 codes with `encode`. The Gaussian VAE has the same MLP
encoder and decoder as the discrete models (`keras_dvae.layers.mlp`),
so thresholding its posterior mean gives codes of the same size from a
continuous latent.
"""

import keras
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from keras_dvae.layers import GaussianLatent
from keras_dvae.models import DiscreteVAE, assembly
from keras_dvae.networks import HierarchicalEncoder
from keras_dvae.priors import NormalPrior
from keras_dvae.utils import checks


def _centred(x, mean):
    return np.asarray(x, np.float32) - mean


class RandomProjectionLSH:
    """Sign random projections of centred data (Charikar 2002).

    code = 1[(x − mean) w_b > 0], w_b ~ N(0, I), one Gaussian direction
    per bit: the "LSH" baseline of Gong & Lazebnik (2011).

    Args:
        bits: int ≥ 1, code length.
        seed: int, seed of the projection.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((50, 8))
    >>> RandomProjectionLSH(4, seed=0).fit(x).encode(x).shape
    (50, 4)
    """

    def __init__(self, bits, seed=0):
        self.bits = checks.check_positive_int("bits", bits)
        self.seed = seed

    def fit(self, x):
        x = np.asarray(x, np.float32)
        self.mean = x.mean(axis=0)
        rng = np.random.default_rng(self.seed)
        self.projection = rng.standard_normal((x.shape[1], self.bits)).astype(
            np.float32
        )
        return self

    def encode(self, x):
        return (_centred(x, self.mean) @ self.projection > 0).astype(np.uint8)


class PCAITQ:
    """PCA to `bits` dimensions, then iterative quantisation (ITQ).

    V = (x − mean) P holds the top-`bits` principal components. ITQ looks
    for an orthogonal rotation R minimising the quantisation loss
    ‖B − V R‖²_F over codes B ∈ {−1, +1}: alternately B = sgn(V R) and,
    for fixed B, the orthogonal Procrustes solution R = U Wᵀ of the SVD
    Vᵀ B = U S Wᵀ, starting from a random rotation (Gong & Lazebnik 2011,
    §2.2, 50 iterations). With `iterations=0` and `random_start=False`
    (R = I) it is plain PCA hashing ("PCA sign").

    Args:
        bits: int ≥ 1, code length (≤ input dimension).
        iterations: int ≥ 0, ITQ alternations.
        random_start: start from a random rotation (True) or R = I.
        seed: int, seed of the random rotation.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((200, 16))
    >>> itq = PCAITQ(8, seed=0).fit(x)
    >>> itq.encode(x).shape, len(itq.losses)
    ((200, 8), 51)

    References:
        Y. Gong and S. Lazebnik, "Iterative quantization: a Procrustean
        approach to learning binary codes", CVPR 2011, §2.2.
    """

    def __init__(self, bits, iterations=50, random_start=True, seed=0):
        self.bits = checks.check_positive_int("bits", bits)
        self.iterations = checks.check_positive_int("iterations", iterations, minimum=0)
        self.random_start = bool(random_start)
        self.seed = seed

    def fit(self, x):
        x = np.asarray(x, np.float32)
        if self.bits > x.shape[1]:
            raise ValueError(
                f"`bits` must be at most the input dimension {x.shape[1]}. "
                f"Received: bits={self.bits}"
            )
        self.pca = PCA(self.bits, random_state=self.seed).fit(x)
        v = self.pca.transform(x)
        if self.random_start:
            rng = np.random.default_rng(self.seed)
            rotation, _ = np.linalg.qr(rng.standard_normal((self.bits, self.bits)))
        else:
            rotation = np.eye(self.bits)
        self.losses = [self._loss(v, rotation)]
        for _ in range(self.iterations):
            b = np.where(v @ rotation >= 0, 1.0, -1.0)
            u, _, wt = np.linalg.svd(v.T @ b)
            rotation = u @ wt
            self.losses.append(self._loss(v, rotation))
        self.rotation = rotation.astype(np.float32)
        return self

    @staticmethod
    def _loss(v, rotation):
        projected = v @ rotation
        b = np.where(projected >= 0, 1.0, -1.0)
        return float(np.sum((b - projected) ** 2) / len(v))

    def quantization_loss(self, x):
        """‖B − V R‖²_F / n on `x` (PCA-projected), B = sgn(V R)."""
        return self._loss(self.pca.transform(np.asarray(x, np.float32)), self.rotation)

    def encode(self, x):
        v = self.pca.transform(np.asarray(x, np.float32))
        return (v @ self.rotation >= 0).astype(np.uint8)


def pca_features(x_fit, x, dims, seed=0):
    """The top-`dims` principal components of `x`, fitted on `x_fit`."""
    return PCA(dims, random_state=seed).fit(x_fit).transform(x).astype(np.float32)


def kmeans(x, num_clusters, n_init=10, seed=0):
    """k-means (k-means++ starts, best of `n_init` restarts) fitted on `x`.

    Returns:
        The fitted `sklearn.cluster.KMeans` (`labels_` for `x`, `predict`).
    """
    return KMeans(num_clusters, n_init=n_init, random_state=seed).fit(
        np.asarray(x, np.float32)
    )


@keras.saving.register_keras_serializable(package="applications")
class GaussianVAE(DiscreteVAE):
    """A continuous VAE with the discrete models' MLPs and Bernoulli decoder.

    q(h|x) = N(μ(x), diag σ²(x)), p(h) = N(0, I), p(x|h) factorial
    Bernoulli: the parts of `DVAEPP` with a `GaussianLatent` layer and a
    `NormalPrior` (tanh MLPs with batch norm, `latent_dim` units where the
    binary models have their codes). `encode(x)[0]` gives the posterior
    means; hash codes are 1[μ(x) > 0] (the prior is symmetric about 0, so
    every bit is balanced under p(h)).

    Args:
        image_shape: (D,) or (H, W, C) of binary pixels.
        latent_dim: int, Gaussian units.
        hidden_units: "nonlinear", "linear" or a tuple of hidden sizes.
        weight_decay: L2 coefficient λ: λ/2 Σ w² over the kernels.
        seed: int or None.
        **kwargs: base `keras.Model` arguments.
    """

    def __init__(
        self,
        image_shape=(784,),
        latent_dim=64,
        hidden_units="nonlinear",
        weight_decay=1e-4,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            encoder=HierarchicalEncoder(
                GaussianLatent(seed=seed, name="latent"),
                num_latents=latent_dim,
                hidden_units=hidden_units,
                name="encoder",
            ),
            prior=NormalPrior(latent_dim, seed=seed, name="prior"),
            **assembly.bernoulli_mlp_output(image_shape, hidden_units),
            image_shape=image_shape,
            weight_decay=weight_decay,
            seed=seed,
            **kwargs,
        )

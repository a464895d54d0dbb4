"""The posterior q(z|x) = Π_g q(z_g | x, ζ_<g) an encoder hands to a prior.

Priors find their KL against it by class with `kl_divergence`:

| class                 | latents                             | params per group |
| --------------------- | ----------------------------------- | ---------------- |
| `BinaryPosterior`     | smoothed binary units (ζ or z)      | logits           |
| `CategoricalPosterior`| one-hot latents, flattened (L × K)  | logits           |
| `NormalPosterior`     | diagonal Gaussians                  | mean ‖ log var   |

Posteriors are plain objects that never cross a compiled boundary (models
rebuild them from `call`'s tensors).
"""

from keras import ops

from keras_dvae.distributions.categorical import Bernoulli, Categorical
from keras_dvae.distributions.normal import normal_log_prob, split_gaussian


class Posterior:
    """q(z|x) over `num_groups` equal groups, concatenated on the last axis.

    Args:
        params: (n, P) per-group parameters, concatenated.
        samples: (n, D) per-group samples (relaxed ζ in training, discrete
            z otherwise), concatenated.
        num_groups: int, groups of the hierarchy.
        training: whether the samples are the training relaxation (the
            KL of some priors then also updates their state).
        discrete: whether `samples` are exact discrete codes.
        latent: the latent layer that drew the samples (its smoothing
            family gives ν = q(z=1|x, ζ) for binary units).
    """

    def __init__(self, params, samples, num_groups, training, discrete, latent=None):
        self.params = params
        self.samples = samples
        self.num_groups = num_groups
        self.training = bool(training)
        self.discrete = bool(discrete)
        self.latent = latent

    def split(self, t):
        """`t` split in `num_groups` equal parts along the last axis."""
        return ops.split(t, self.num_groups, axis=-1) if self.num_groups > 1 else [t]

    @property
    def probabilities(self):
        """q(z=1|x, ζ_<g) per unit, or the softmax per one-hot latent (flat)."""
        raise NotImplementedError(
            f"{type(self).__name__} has no probabilities: its latents are continuous"
        )

    def log_prob(self):
        """log q(z|x) of the (discrete) samples, per example."""
        raise NotImplementedError(f"{type(self).__name__} must implement log_prob")

    def entropy(self):
        """Σ_g H(q(z_g|x, ζ_<g)), per example (given the sampled parents)."""
        raise NotImplementedError(f"{type(self).__name__} must implement entropy")


class BinaryPosterior(Posterior):
    """Groups of binary units with logits `params`, smoothed by `latent.family`."""

    @property
    def logits(self):
        return self.params

    @property
    def probabilities(self):
        return ops.sigmoid(self.params)

    @property
    def family(self):
        """The smoothing family at the latent layer's current β."""
        return self.latent.family

    def log_prob(self):
        return ops.sum(Bernoulli(self.params).log_prob(self.samples), axis=-1)

    def entropy(self):
        return ops.sum(Bernoulli(self.params).entropy(), axis=-1)

    def own_posterior(self):
        """ν: q(z=1|x, ζ_g) of each unit given its own ζ (μ for the last group).

        E[z_i z_j] = E[ν_i μ_j] when unit j's group is not before unit i's;
        the last group keeps ν = μ (lower variance).
        """
        groups = list(
            zip(self.split(self.params), self.split(self.samples), strict=True)
        )
        parts = []
        for g, (logits, sample) in enumerate(groups):
            if g == len(groups) - 1:
                parts.append(ops.sigmoid(logits))
            elif self.discrete or not self.family.is_overlapping:
                # A discrete z is its own posterior; with an atom at ζ = 0
                # (spike-and-exponential) z = 1[ζ > 0] is a function of ζ.
                parts.append(ops.cast(sample > 0, logits.dtype))
            else:
                parts.append(ops.sigmoid(self.family.posterior_logits(sample, logits)))
        return ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]


class CategoricalPosterior(Posterior):
    """`num_latents` one-hot latents of K categories, flattened to (n, L × K)."""

    def __init__(self, params, samples, num_categories, **kwargs):
        super().__init__(params, samples, **kwargs)
        self.num_categories = num_categories

    def _blocks(self, t):
        return ops.reshape(
            t, (-1, t.shape[-1] // self.num_categories, self.num_categories)
        )

    @property
    def distribution(self):
        """`Categorical` over (n, L, K) logits."""
        return Categorical(self._blocks(self.params))

    @property
    def probabilities(self):
        return ops.reshape(
            ops.softmax(self._blocks(self.params), axis=-1), ops.shape(self.params)
        )

    @property
    def one_hot(self):
        """The samples as (n, L, K)."""
        return self._blocks(self.samples)

    def log_prob(self):
        return ops.sum(self.distribution.log_prob(self.one_hot), axis=-1)

    def entropy(self):
        return ops.sum(self.distribution.entropy(), axis=-1)


class NormalPosterior(Posterior):
    """Diagonal Gaussians; each group's params are mean ‖ log-variance."""

    @property
    def moments(self):
        """(means, log-variances), each (n, D), concatenated over groups."""
        pairs = [split_gaussian(p) for p in self.split(self.params)]
        means, log_vars = zip(*pairs, strict=True)
        return ops.concatenate(means, axis=-1), ops.concatenate(log_vars, axis=-1)

    def log_prob(self):
        mean, log_var = self.moments
        return normal_log_prob(self.samples, mean, log_var)

    def entropy(self):
        _, log_var = self.moments
        return 0.5 * ops.sum(log_var + 1.0 + ops.log(2.0 * 3.141592653589793), axis=-1)

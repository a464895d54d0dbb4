"""NumPy float64 references for the model tests: enumeration and quadrature.

The networks are read, not reimplemented: `run` calls a sub-network in
evaluation mode (batch norm on its moving statistics), and `linear` reads
the kernel and bias of a "linear" (hidden_units=()) network so that training
mode, where batch norm would use batch statistics, can be computed here.
The models' parts: `model.encoder.networks[g]` (group g's conditional),
`model.encoder.input_mean`, `model.encoder.latent`, `model.decoder.network`
and `model.prior`.
"""

import keras
import numpy as np
from keras import ops
from scipy.special import expit, log_expit, logsumexp

from keras_dvae.distributions import kl_divergence
from tests.helpers import grad, to_numpy
from tests.priors import rbm_reference
from tests.priors.rbm_reference import all_states

__all__ = ["all_states", "expit", "logsumexp"]


def log_bernoulli(z, logits):
    """log Bernoulli(z; σ(logits)), elementwise."""
    return z * log_expit(logits) + (1.0 - z) * log_expit(-logits)


def bernoulli_kl(q_logits, p_logits):
    """KL(Bernoulli(σ(q)) ‖ Bernoulli(σ(p))), elementwise."""
    q = expit(q_logits)
    return q * (log_expit(q_logits) - log_expit(p_logits)) + (1 - q) * (
        log_expit(-q_logits) - log_expit(-p_logits)
    )


def run(net, h):
    """A sub-network's output in evaluation mode, as float64."""
    return np.asarray(to_numpy(net(np.asarray(h, "float32"), training=False)), float)


def linear(net):
    """(kernel, bias) of a single-Dense network, as float64."""
    (dense,) = net.layers
    return (
        np.asarray(to_numpy(dense.kernel), float),
        np.asarray(to_numpy(dense.bias), float),
    )


def apply_linear(net, h):
    kernel, bias = linear(net)
    return h @ kernel + bias


def centred(model, x):
    mean = to_numpy(model.encoder.input_mean)
    return np.asarray(x, float) - np.asarray(mean, float)


def encoder_networks(model):
    """The per-group conditionals of q(z|x), in order."""
    return list(model.encoder.networks)


def model_kl(model, y_pred, training):
    """The model's per-example KL of `call`'s outputs (the old `_kl`):
    kl_divergence(posterior, prior) plus the decoder's own KL."""
    posterior = model.posterior_from(y_pred, training)
    return kl_divergence(posterior, model.prior) + y_pred["decoder_kl"]


def rbm_parameters(prior):
    return tuple(np.asarray(to_numpy(v), float) for v in (prior.a1, prior.a2, prior.W))


def energy(z1, z2, a1, a2, w):
    return -(z1 @ a1 + z2 @ a2 + np.sum((z1 @ w) * z2, axis=-1))


# ------------------------------------------------------------ smoothing


def truncated_exponential(u, beta):
    """Inverse CDF of β e^{−βt} / (1 − e^{−β}) on [0, 1]."""
    return -np.log1p(u * np.expm1(-beta)) / beta


def sample_zeta(z, beta, rng, spike=False):
    """ζ ~ r(ζ|z): overlapping exponential, or spike-and-exponential."""
    t = truncated_exponential(rng.random(np.shape(z)), beta)
    return np.where(z > 0.5, 1.0 - t, 0.0 if spike else t)


def overlapping_exponential_log_density(zeta, logits, beta):
    """log[(1 − q) r(ζ|0) + q r(ζ|1)] of the overlapping exponential (METHODS.md §1)."""
    return (
        np.logaddexp(
            log_expit(-logits) - beta * zeta, log_expit(logits) + beta * (zeta - 1.0)
        )
        + np.log(beta)
        - np.log(-np.expm1(-beta))
    )


def r_density(zeta, z, beta):
    """r(ζ|z) of the exponential components (no spike)."""
    t = zeta if z == 0 else 1.0 - zeta
    return beta * np.exp(-beta * t) / -np.expm1(-beta)


def gauss_legendre(n=96):
    """Nodes and weights on [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (nodes + 1.0), 0.5 * weights


# ------------------------------------------------------ enumeration


def enumerate_posterior(model, x):
    """log q(z|x) = Σ_g log q(z_g|x, z_<g) on every code: (n, 2^L), all codes."""
    groups = model.encoder.num_groups
    n = model.encoder.num_latents // groups
    codes = all_states(model.encoder.num_latents)
    xc = centred(model, x)
    rows, num_codes = len(x), len(codes)
    log_q = np.zeros((rows, num_codes))
    for g in range(groups):
        h = np.concatenate(
            [
                np.broadcast_to(xc[:, None, :], (rows, num_codes, xc.shape[1])),
                np.broadcast_to(codes[None, :, : g * n], (rows, num_codes, g * n)),
            ],
            axis=-1,
        ).reshape(rows * num_codes, -1)
        logits = run(model.encoder.networks[g], h).reshape(rows, num_codes, n)
        log_q += log_bernoulli(codes[None, :, g * n : (g + 1) * n], logits).sum(-1)
    return log_q, codes


def enumerate_decoder(model, x, codes):
    """log p(x|z) on every code: (n, 2^L)."""
    x_logits = run(model.decoder.network, codes)
    return log_bernoulli(np.asarray(x, float)[:, None, :], x_logits[None]).sum(-1)


def rbm_log_prior(model, codes, log_z):
    """log p(z) = −E(z) − log Z of an RBM model's prior (halves z1 | z2)."""
    half = model.prior.num_z1
    rbm = rbm_parameters(model.prior)
    return -energy(codes[:, :half], codes[:, half:], *rbm) - log_z


# ------------------------------------------- hierarchical RBM objective


def linear_encoders(model):
    return [linear(network) for network in model.encoder.networks]


def sample_relaxed_rbm_kl(xc, encoders, rbm, log_z, beta, spike, n, rng):
    """Samples of Σ_g log q(z_g|x, ζ_<g) + E(z1, z2) + log Z.

    z_g ~ q(z_g|x, ζ_<g) and ζ_g ~ r(ζ|z_g) group after group, with sampled
    (not Rao-Blackwellised) z: an estimator independent of the models'
    analytic one. `encoders` are (kernel, bias) of linear encoders; `xc` is
    one centred input row; the RBM's halves are the first and second half
    of the concatenated z.
    """
    zs, zetas, log_q = [], [], 0.0
    for kernel, bias in encoders:
        h = np.concatenate([np.broadcast_to(xc, (n, xc.shape[0])), *zetas], axis=1)
        logits = h @ kernel + bias
        z = (rng.random(logits.shape) < expit(logits)).astype(float)
        log_q = log_q + log_bernoulli(z, logits).sum(1)
        zs.append(z)
        zetas.append(sample_zeta(z, beta, rng, spike))
    z = np.concatenate(zs, axis=1)
    half = z.shape[1] // 2
    return log_q + energy(z[:, :half], z[:, half:], *rbm) + log_z


def relaxed_rbm_kl(xc, encoders, rbm, log_z, beta, spike, nodes=64):
    """Its expectation by quadrature, for two groups (the RBM's two halves).

    F = Σ_{z1} q(z1|x) ∫ r(ζ1|z1) Σ_{z2} q(z2|x, ζ1) [log q(z1|x)
        + log q(z2|x, ζ1) + E(z1, z2)] dζ1 + log Z,

    z enumerated, ζ1 on a tensor Gauss-Legendre grid (the spike of r(ζ|0)
    of the spike-and-exponential an atom at ζ = 0): nodes^n1 · 2^(n1+n2) terms.
    """
    (k1, b1), (k2, b2) = encoders
    l1 = xc @ k1 + b1
    n1, n2 = len(b1), len(b2)
    zeta, weights = gauss_legendre(nodes)
    total = log_z
    for z1 in all_states(n1):
        axes = [
            (np.zeros(1), np.ones(1))
            if spike and z1[i] == 0
            else (zeta, weights * r_density(zeta, z1[i], beta))
            for i in range(n1)
        ]
        points = np.stack(
            [g.ravel() for g in np.meshgrid(*[a[0] for a in axes], indexing="ij")], 1
        )
        mass = np.prod(
            [g.ravel() for g in np.meshgrid(*[a[1] for a in axes], indexing="ij")], 0
        )
        h = np.concatenate([np.broadcast_to(xc, (len(points), len(xc))), points], 1)
        l2 = h @ k2 + b2
        inner = 0.0
        for z2 in all_states(n2):
            log_q2 = log_bernoulli(z2, l2).sum(1)
            inner = inner + np.exp(log_q2) * (log_q2 + energy(z1, z2, *rbm))
        log_q1 = log_bernoulli(z1, l1).sum()
        total += np.exp(log_q1) * (log_q1 + np.sum(mass * inner))
    return total


def finite_difference(f, params, h=1e-5):
    """Central differences of f over a list of float64 arrays."""
    grads = []
    for i, p in enumerate(params):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            up = [q.copy() for q in params]
            down = [q.copy() for q in params]
            up[i][idx] += h
            down[i][idx] -= h
            g[idx] = (f(up) - f(down)) / (2 * h)
        grads.append(g)
    return grads


# ------------------------------------------------------------ gradients


def mean_kl_gradient(model, rows, variables):
    """∇ of mean(`model_kl`(model(rows, training=True), True)) w.r.t. variables.

    Runs the model in a `keras.StatelessScope` on a flat vector, so that
    `tests.helpers.grad` works on every backend; the scope discards the seed
    generators' updates, so callers advance them between draws.
    """
    shapes = [tuple(v.shape) for v in variables]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = np.concatenate([to_numpy(v).ravel() for v in variables]).astype("float32")

    def mean_kl(t):
        parts, offset = [], 0
        for shape, size in zip(shapes, sizes, strict=True):
            parts.append(ops.reshape(t[offset : offset + size], shape))
            offset += size
        with keras.StatelessScope(
            state_mapping=list(zip(variables, parts, strict=True))
        ):
            y_pred = model(rows, training=True)
            return ops.mean(model_kl(model, y_pred, True))

    g = np.asarray(grad(mean_kl, flat), float)
    return np.split(g, np.cumsum(sizes)[:-1])


# ------------------------------------------------------------- models


def linear_rbm_model(
    cls,
    input_dim,
    latents_per_group,
    num_groups,
    smoothing=None,
    scale=1.5,
    seed=0,
    num_chains=4,
    gibbs_sweeps=1,
):
    """A DVAEPP/DVAE with linear conditionals (no batch norm), random weights
    of standard deviation `scale`, a random RBM and its exact log Z."""
    model = cls(
        image_shape=(input_dim,),
        num_latents=latents_per_group * num_groups,
        num_groups=num_groups,
        hidden_units=(),
        smoothing=smoothing,
        num_chains=num_chains,
        gibbs_sweeps=gibbs_sweeps,
        weight_decay=0.0,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    for network in model.encoder.networks:
        for variable in network.trainable_weights:
            variable.assign(rng.normal(0.0, scale, variable.shape).astype("float32"))
    half = model.prior.num_z1
    rbm_reference.set_parameters(
        model.prior, *rbm_reference.random_rbm(half, half, seed, scale=scale)
    )
    model.prior.estimate_log_partition("exact")
    return model


def beta_of(model):
    return float(to_numpy(model.encoder.latent.sharpness))


def is_spike(model):
    return type(model.encoder.latent.smoothing).__name__ == "SpikeAndExponential"


def objective_inputs(model, x):
    """The arguments of `sample_relaxed_rbm_kl` / `relaxed_rbm_kl` for a
    linear RBM model and one input row `x`."""
    return {
        "xc": centred(model, x)[0],
        "encoders": linear_encoders(model),
        "rbm": rbm_parameters(model.prior),
        "log_z": float(to_numpy(model.prior.log_partition)),
        "beta": beta_of(model),
        "spike": is_spike(model),
    }


def training_kl(model, x, num_rows):
    """The model's training KL (`model_kl` on relaxed samples) for `num_rows`
    copies of the row `x`, and its standard error."""
    rows = np.repeat(np.asarray(x, "float32"), num_rows, axis=0)
    y_pred = model(rows, training=True)
    values = np.asarray(to_numpy(model_kl(model, y_pred, True)), float)
    return values.mean(), values.std() / np.sqrt(num_rows)


def encoder_gradient_against_quadrature(model, x, num_rows, repeats):
    """Mean and s.e. over `repeats` draws of the training KL's gradient with
    respect to the two linear encoders, and the finite-difference gradient
    of its expectation `relaxed_rbm_kl` (two groups)."""
    variables = [
        v for network in model.encoder.networks for v in network.trainable_weights
    ]
    rows = np.repeat(np.asarray(x, "float32"), num_rows, axis=0)
    draws = []
    for _ in range(repeats):
        draws.append(np.concatenate(mean_kl_gradient(model, rows, variables)))
        model.encoder.latent.seed_generator.next()  # fresh ρ for the next draw
    draws = np.array(draws)
    inputs = objective_inputs(model, x)

    def objective(params):
        inputs["encoders"] = [(params[0], params[1]), (params[2], params[3])]
        return relaxed_rbm_kl(**inputs, nodes=96)

    params = [np.asarray(to_numpy(v), float) for v in variables]
    expected = np.concatenate([g.ravel() for g in finite_difference(objective, params)])
    return draws.mean(0), draws.std(0, ddof=1) / np.sqrt(repeats), expected


def rbm_gradient_against_moments(model, x, num_rows, num_reference, rng):
    """The training KL's gradient w.r.t. (a1, a2, W), and its expectation.

    Expected: ∂KL/∂a1 = E_p[z1] − μ1, ∂KL/∂a2 = E_p[z2] − E[μ2] and
    ∂KL/∂W = E_p[z1 z2ᵀ] − E[z1 μ2ᵀ], the p-moments by enumeration and the
    q-moments by sampling z1 ~ q, ζ1 ~ r(ζ|z1) (two groups, linear model).
    The model's p-moments come from its PCD chains.
    """
    prior = model.prior
    rows = np.repeat(np.asarray(x, "float32"), num_rows, axis=0)
    got = mean_kl_gradient(model, rows, [prior.a1, prior.a2, prior.W])
    a1, a2, w = rbm_parameters(prior)
    p1, p2, p12 = rbm_reference.grad_log_partition(a1, a2, w)
    (k1, b1), (k2, b2) = linear_encoders(model)
    xc = centred(model, x)[0]
    mu1 = expit(xc @ k1 + b1)
    z1 = (rng.random((num_reference, len(b1))) < mu1).astype(float)
    zeta1 = sample_zeta(z1, beta_of(model), rng, is_spike(model))
    h = np.concatenate([np.broadcast_to(xc, (num_reference, len(xc))), zeta1], 1)
    mu2 = expit(h @ k2 + b2)
    expected = [p1 - mu1, p2 - mu2.mean(0), (p12 - z1.T @ mu2 / num_reference).ravel()]
    return got, expected

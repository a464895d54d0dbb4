"""The discretised mixture of logistics of PixelCNN++ for 8-bit images."""

import math

import keras
from keras import ops

# Scales below e^-7 are clipped, as in PixelCNN++.
MIN_LOG_SCALE = -7.0


def num_parameters(channels, num_mixtures):
    """Channels a network outputs per pixel: M (1 + 2C + C(C−1)/2)."""
    return num_mixtures * (1 + 2 * channels + channels * (channels - 1) // 2)


def _unpack(params, channels, num_mixtures):
    """(logit_probs, means, log_scales, coefficients) from the flat parameters.

    means and log_scales are (n, H, W, C, M); coefficients (n, H, W, C(C−1)/2, M)
    in (−1, 1), one per pair j < c in the order (1,0), (2,0), (2,1), ...
    """
    m, c = num_mixtures, channels
    # NumPy input: slices of it would stay NumPy and mix badly with
    # backend tensors (torch rejects `ndarray + Tensor`).
    params = ops.convert_to_tensor(params)
    expected = num_parameters(c, m)
    if params.shape[-1] != expected:
        raise ValueError(
            f"`params` must have {expected} channels for {c} image channel(s) and "
            f"{m} mixture components. Received: params with shape {params.shape}"
        )
    height, width = params.shape[1], params.shape[2]
    pairs = c * (c - 1) // 2

    def block(start, size):
        return ops.reshape(
            params[..., start : start + size * m], (-1, height, width, size, m)
        )

    logit_probs = params[..., :m]
    means = block(m, c)
    log_scales = ops.maximum(block(m + c * m, c), MIN_LOG_SCALE)
    coefficients = ops.tanh(block(m + 2 * c * m, pairs)) if pairs else None
    return logit_probs, means, log_scales, coefficients


def _coupled_means(means, coefficients, x):
    """μ_c + Σ_{j<c} α_cj x_j: each channel's mean given the earlier channels."""
    channels = means.shape[-2]
    out, pair = [means[..., 0, :]], 0
    for c in range(1, channels):
        mean = means[..., c, :]
        for j in range(c):
            mean = mean + coefficients[..., pair, :] * x[..., j, None]
            pair += 1
        out.append(mean)
    return ops.stack(out, axis=-2)


def log_prob(x, params, num_mixtures):
    """log p(x) of 8-bit images under the discretised logistic mixture.

    Each pixel is a mixture over M components; within a component the
    channels are logistic, channel c with mean μ_c + Σ_{j<c} α_cj x_j
    (PixelCNN++, Salimans et al. 2017), and the probability of a value is
    the logistic mass of its bin of width 2/255 on [−1, 1], the edge bins
    taking the tails. The 256 values of a channel therefore sum to one.

    Args:
        x: (n, H, W, C) images scaled to [−1, 1] (k/127.5 − 1, k = 0..255).
        params: (n, H, W, `num_parameters(C, M)`) network outputs.
        num_mixtures: M.

    Returns:
        (n,) log-probabilities in nats, summed over pixels and channels.
    """
    x = ops.cast(x, params.dtype)
    channels = x.shape[-1]
    logit_probs, means, log_scales, coefficients = _unpack(
        params, channels, num_mixtures
    )
    if coefficients is not None:
        means = _coupled_means(means, coefficients, x)
    xe = x[..., None]
    centred = xe - means
    inv_scale = ops.exp(-log_scales)
    plus = inv_scale * (centred + 1.0 / 255.0)
    minus = inv_scale * (centred - 1.0 / 255.0)
    cdf_delta = ops.sigmoid(plus) - ops.sigmoid(minus)
    log_cdf_plus = plus - ops.softplus(plus)  # log σ(plus): the x = −1 bin
    log_one_minus_cdf_minus = -ops.softplus(minus)  # the x = 1 bin
    mid = inv_scale * centred
    # Bins too narrow for float32 differences: density × width.
    log_pdf_mid = mid - log_scales - 2.0 * ops.softplus(mid) - math.log(127.5)
    inner = ops.where(
        cdf_delta > 1e-5,
        ops.log(ops.maximum(cdf_delta, 1e-12)),
        log_pdf_mid,
    )
    per_channel = ops.where(
        xe < -0.999,
        log_cdf_plus,
        ops.where(xe > 0.999, log_one_minus_cdf_minus, inner),
    )
    per_component = ops.sum(per_channel, axis=-2) + ops.log_softmax(
        logit_probs, axis=-1
    )
    return ops.sum(ops.logsumexp(per_component, axis=-1), axis=(1, 2))


def sample(params, channels, num_mixtures, seed=None):
    """Draws 8-bit images from the mixture, as floats in [0, 1] (k/255).

    Args:
        params: (n, H, W, `num_parameters(C, M)`) network outputs.
        channels: C.
        num_mixtures: M.
        seed: a `keras.random.SeedGenerator` or int.

    Returns:
        (n, H, W, C) tensor of values k/255, k ∈ {0, ..., 255}.
    """
    logit_probs, means, log_scales, coefficients = _unpack(
        params, channels, num_mixtures
    )
    gumbel = -ops.log(
        -ops.log(
            keras.random.uniform(
                ops.shape(logit_probs), 1e-6, 1.0 - 1e-6, dtype=params.dtype, seed=seed
            )
        )
    )
    choice = ops.one_hot(
        ops.argmax(logit_probs + gumbel, axis=-1), num_mixtures, dtype=params.dtype
    )[..., None, :]
    mean = ops.sum(means * choice, axis=-1)
    scale = ops.exp(ops.sum(log_scales * choice, axis=-1))
    u = keras.random.uniform(
        ops.shape(mean), 1e-5, 1.0 - 1e-5, dtype=params.dtype, seed=seed
    )
    noisy = mean + scale * (ops.log(u) - ops.log1p(-u))
    values, pair = [], 0
    for c in range(channels):
        value = noisy[..., c]
        for j in range(c):
            alpha = ops.sum(coefficients[..., pair, :] * choice[..., 0, :], axis=-1)
            value = value + alpha * values[j]
            pair += 1
        values.append(ops.clip(value, -1.0, 1.0))
    images = ops.stack(values, axis=-1)
    return ops.round((images + 1.0) * 127.5) / 255.0

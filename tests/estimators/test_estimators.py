"""Every gradient estimator against the exact gradient, by enumeration.

A tiny model (two 3-way latents: 9 codes; or three binary units: 8 codes)
and one input x. The model's training loss is differentiated with respect
to N copies of the encoder's logits: each row's gradient is one
independent estimate. Their mean must match the exact gradient of the
objective (enumerated in float64 NumPy, differentiated by central
differences) to Monte Carlo error, on every backend.
"""

import itertools

import keras
import numpy as np
import pytest
from scipy import special

from keras_dvae import estimators
from keras_dvae.models import BernoulliVAE, CategoricalVAE
from tests.helpers import grad, to_numpy

INPUT_DIM, KL_WEIGHT, ROWS = 6, 0.7, 20_000
X = np.array([[1, 0, 1, 1, 0, 0]], "float32")


def categorical(estimator):
    model = CategoricalVAE(
        image_shape=(INPUT_DIM,),
        num_latents=2,
        num_categories=3,
        hidden_units=(8,),
        estimator=estimator,
        prior="learned",
        seed=0,
    )
    one_hot = np.eye(3)[list(itertools.product(range(3), repeat=2))]  # (9, 2, 3)
    return model, one_hot.reshape(9, 6)


def binary(estimator):
    model = BernoulliVAE(
        image_shape=(INPUT_DIM,),
        num_latents=3,
        hidden_units=(),
        estimator=estimator,
        weight_decay=0.0,
        seed=0,
    )
    return model, np.array(list(itertools.product((0, 1), repeat=3)), "float64")


def log_q(kind, logits, codes):
    """log q(code) for each code, float64, from flat logits (P,)."""
    if kind == "binary":
        return (codes * logits - np.logaddexp(0.0, logits)).sum(-1)
    log_p = special.log_softmax(logits.reshape(-1, 3), -1).reshape(-1)
    return codes @ log_p


def exact_gradient(
    model, kind, codes, logits, num_samples, kl_weight=KL_WEIGHT, wrt="logits"
):
    """∂/∂logits (or ∂/∂ the decoder's output bias, `wrt="bias"`) of the
    negated objective, by enumeration and central differences.

    Single-sample estimators: E_q[−log p(x|z)] + κ KL(q ‖ p); VIMCO with K
    samples: −E[log (1/K) Σ_k w_k], log w = log p(x|z) + κ (log p(z) −
    log q(z|x)).
    """
    z = keras.ops.convert_to_tensor(codes.astype("float32"))
    decoded = to_numpy(model.decoder.run(z, training=False)[0]).astype("float64")
    log_p = to_numpy(model.prior.log_prob(z)).astype("float64")

    def objective(lg, shift=0.0):
        out = decoded + shift
        nll = (np.logaddexp(0.0, out) - X * out).sum(-1)  # (C,)
        lq = log_q(kind, lg, codes)
        q = np.exp(lq)
        if num_samples is None:
            return q @ nll + kl_weight * (q @ (lq - log_p))
        log_w = -nll + kl_weight * (log_p - lq)
        total = 0.0
        for combo in itertools.product(range(len(codes)), repeat=num_samples):
            combo = list(combo)
            bound = special.logsumexp(log_w[combo]) - np.log(num_samples)
            total += np.exp(lq[combo].sum()) * bound
        return -total

    eps = 1e-5
    point = np.zeros(INPUT_DIM) if wrt == "bias" else logits
    result = np.zeros_like(point)
    for i in range(len(point)):
        step = np.zeros_like(point)
        step[i] = eps
        if wrt == "bias":
            up, down = objective(logits, step), objective(logits, -step)
        else:
            up, down = objective(logits + step), objective(logits - step)
        result[i] = (up - down) / (2 * eps)
    return result


def _loss(model, logits_rows, bias=None):
    """The model's training loss on ROWS copies of X, given the logits."""
    y_pred = {
        "posterior_params": keras.ops.convert_to_tensor(logits_rows),
        "latents": keras.ops.zeros(logits_rows.shape),
        "decoder_kl": keras.ops.zeros((ROWS,)),
    }
    mapping = [] if bias is None else [(model.decoder.output_bias, bias)]
    # A stateless scope: the metrics and baselines stay put.
    with keras.StatelessScope(state_mapping=mapping):
        return model.compute_loss(np.repeat(X, ROWS, 0), y_pred=y_pred, training=True)


def estimates(model, logits):
    """(ROWS, P) per-row gradients of the model's training loss."""
    logits_rows = np.repeat(logits[None].astype("float32"), ROWS, axis=0)
    return grad(lambda v: _loss(model, v) * ROWS, logits_rows).astype("float64")


def bias_estimate(model, logits):
    """The mean training loss's gradient for the decoder's output bias."""
    logits_rows = np.repeat(logits[None].astype("float32"), ROWS, axis=0)
    bias = to_numpy(model.decoder.output_bias)
    return grad(lambda b: _loss(model, logits_rows, b), bias).astype("float64")


ESTIMATORS = [
    ("score_function", {}),
    ("score_function", {"baseline": "input_dependent"}),
    ("disarm", {}),
    ("rebar", {}),
    ("relax", {}),
    ("vimco", {"num_samples": 2}),
]


@pytest.mark.parametrize("kind", ["categorical", "binary"])
@pytest.mark.parametrize(
    "name,options", ESTIMATORS, ids=lambda v: v if isinstance(v, str) else ""
)
def test_estimate_is_unbiased(kind, name, options):
    estimator = estimators.get(name, seed=1, **options)
    model, codes = (categorical if kind == "categorical" else binary)(estimator)
    rng = np.random.default_rng(4)
    # Move everything off its initial value, so no term is trivially zero.
    for variable in model.decoder.trainable_variables + model.prior.trainable_variables:
        variable.assign(rng.normal(0.0, 0.8, variable.shape))
    if name in ("rebar", "relax"):  # any η, λ, ρ: unbiased all the same
        estimator.eta_variable.assign(0.7)
        estimator.log_temperature.assign(np.log(0.3))
    if name == "score_function":
        estimator.moving_baseline.moving_mean.assign(-2.0)  # far from E[f]
    model.kl_weight.assign(KL_WEIGHT)
    logits = rng.normal(0.0, 1.0, codes.shape[1])

    rows = estimates(model, logits)
    mean = rows.mean(0)
    error = rows.std(0) / np.sqrt(ROWS)
    num_samples = options.get("num_samples")
    exact = exact_gradient(model, kind, codes, logits, num_samples)
    tolerance = 5 * error + 2e-3
    np.testing.assert_array_less(np.abs(mean - exact), tolerance)
    # Genuine single-sample estimates, not the exact gradient in every row.
    assert np.all(rows.std(0) > 1e-3)

    # The decoder's gradient: each row's part of it is in [−1, 1] per pixel
    # (σ(out) − x, averaged over the estimator's codes with weights summing
    # to 1), so 5/√ROWS bounds five standard errors.
    exact_bias = exact_gradient(model, kind, codes, logits, num_samples, wrt="bias")
    np.testing.assert_allclose(
        bias_estimate(model, logits), exact_bias, atol=5 / np.sqrt(ROWS)
    )


class _DoubledDisARM(estimators.DisARM):
    """DisARM without its ½: a biased estimator the test must reject."""

    def loss(self, problem, training=None):
        reconstruction, surrogate = super().loss(problem, training)
        return reconstruction, 2.0 * surrogate


@pytest.mark.parametrize("kind", ["categorical", "binary"])
def test_a_biased_estimate_is_rejected(kind):
    estimator = _DoubledDisARM(seed=1)
    model, codes = (categorical if kind == "categorical" else binary)(estimator)
    rng = np.random.default_rng(4)
    for variable in model.decoder.trainable_variables:
        variable.assign(rng.normal(0.0, 0.8, variable.shape))
    logits = rng.normal(0.0, 1.0, codes.shape[1])
    rows = estimates(model, logits)
    exact = exact_gradient(model, kind, codes, logits, None, kl_weight=1.0)
    tolerance = 5 * rows.std(0) / np.sqrt(ROWS) + 2e-3
    assert np.any(np.abs(rows.mean(0) - exact) > tolerance)


def test_models_take_an_estimator_by_name_or_instance(tmp_path):
    model = CategoricalVAE(
        image_shape=(INPUT_DIM,),
        num_latents=2,
        num_categories=3,
        hidden_units=(8,),
        estimator=estimators.VIMCO(num_samples=3),
    )
    clone = CategoricalVAE.from_config(model.get_config())
    assert isinstance(clone.estimator, estimators.VIMCO)
    assert clone.estimator.num_samples == 3
    assert clone.get_config() == model.get_config()
    model = BernoulliVAE(
        image_shape=(INPUT_DIM,), num_latents=4, hidden_units=(4,), estimator="relax"
    )
    model.estimator.eta_variable.assign(0.25)
    path = str(tmp_path / "relax.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.estimator, estimators.RELAX)
    np.testing.assert_allclose(to_numpy(loaded.estimator.eta_variable), 0.25)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: estimators.get("reinforce"), "Received: estimator='reinforce'"),
        (lambda: estimators.VIMCO(num_samples=1), "Received: num_samples=1"),
        (lambda: estimators.REBAR(temperature=0.0), "Received: temperature=0.0"),
        (lambda: estimators.REBAR(eta="big"), "Received: eta='big'"),
        (lambda: estimators.ScoreFunction(baseline="mean"), "Received: baseline="),
        (
            lambda: BernoulliVAE(
                image_shape=(4,), num_latents=4, num_groups=2, estimator="disarm"
            ),
            "num_groups=2",
        ),
        (
            lambda: CategoricalVAE(image_shape=(4,), estimator="rebar_plus"),
            "Received: estimator='rebar_plus'",
        ),
    ],
)
def test_bad_estimator_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()

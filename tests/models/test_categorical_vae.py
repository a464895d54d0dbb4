"""CategoricalVAE against exact enumeration of a tiny model's 9 codes."""

import itertools

import keras
import numpy as np
import pytest
from scipy import special

from keras_dvae.models import CategoricalVAE
from keras_dvae.schedules import Geometric
from tests.helpers import BACKEND, to_numpy

# Two latents with three categories: 9 codes, enumerated exactly.
INPUT_DIM, LATENTS, CATEGORIES = 6, 2, 3
CODES = np.array(list(itertools.product(range(CATEGORIES), repeat=LATENTS)))
ONE_HOT = np.eye(CATEGORIES, dtype="float32")[CODES]  # (9, LATENTS, CATEGORIES)
# JAX compiles each eager op per shape, so the tests reuse a few batch sizes:
# 9 rows (one per code) and 9 × 250 (the evaluation copies).
ROWS, REPEATS = len(CODES), 250


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny tensors: PyTorch's intra-op threads only contend (10× slower)."""
    if BACKEND != "torch":
        yield
        return
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(**kwargs):
    kwargs = {
        "image_shape": (INPUT_DIM,),
        "num_latents": LATENTS,
        "num_categories": CATEGORIES,
        "hidden_units": (8,),
        "seed": 0,
        **kwargs,
    }
    return CategoricalVAE(**kwargs)


def make_data(n=96, seed=0):
    """Three one-pixel prototypes with 5% of the pixels flipped."""
    rng = np.random.default_rng(seed)
    prototypes = np.eye(INPUT_DIM, dtype="float32")[[0, 2, 4]]
    x = prototypes[rng.integers(0, 3, n)]
    return np.abs(x - (rng.random(x.shape) < 0.05)).astype("float32")


def posterior_logits(model, x):
    """The encoder's logits of q(z|x), (n, LATENTS, CATEGORIES) NumPy."""
    x = keras.ops.convert_to_tensor(np.asarray(x, "float32"))
    posterior, _ = model.encoder.run(x, training=False)
    return to_numpy(posterior.params).reshape(-1, LATENTS, CATEGORIES)


def decoder_logits(model, z):
    """The decoder's pixel logits for flat one-hot codes `z`, NumPy."""
    z = keras.ops.convert_to_tensor(np.asarray(z, "float32"))
    return to_numpy(model.decoder.run(z, training=False)[0])


def enumerate_model(model, x):
    """Exact quantities of p(z) p(x|z) and q(z|x) over all 9 codes, in float64.

    Returns a dict of per-example arrays: log p(x), the discrete ELBO, the
    analytic KL, and the variance of log p(x|z) under q (for Monte Carlo
    tolerances).
    """
    x = np.asarray(x, "float64")
    log_q = special.log_softmax(posterior_logits(model, x).astype("float64"), -1)
    log_prior = special.log_softmax(to_numpy(model.prior.logits).astype("float64"), -1)
    x_logits = decoder_logits(model, ONE_HOT.reshape(len(CODES), -1))
    x_logits = x_logits.astype("float64")
    log_px_z = (x[:, None] * x_logits[None] - np.logaddexp(0, x_logits)[None]).sum(-1)
    log_p_z = (ONE_HOT * log_prior).sum((-2, -1))
    q_z = np.exp((ONE_HOT[None] * log_q[:, None]).sum((-2, -1)))
    kl = (np.exp(log_q) * (log_q - log_prior)).sum((-2, -1))
    reconstruction = (q_z * log_px_z).sum(1)
    return {
        "log_px": special.logsumexp(log_px_z + log_p_z, axis=1),
        "elbo": reconstruction - kl,
        "kl": kl,
        "var_log_px_z": (q_z * (log_px_z - reconstruction[:, None]) ** 2).sum(1),
        "log_px_z": log_px_z,
        "q_z": q_z,
    }


# One per estimator (their gradients: tests/estimators); the moving-average
# baseline alone is part of "input_dependent" too.
CONFIGS = [
    {"estimator": "gumbel_softmax"},
    {"estimator": "straight_through", "prior": "learned"},
    {"estimator": "score_function", "baseline": "input_dependent", "prior": "learned"},
    {"estimator": "disarm"},
    {"estimator": "rebar", "prior": "learned"},
    {"estimator": "relax"},
    {"estimator": "vimco", "prior": "learned"},
]
RELAXATIONS = ("gumbel_softmax", "straight_through")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(c.values()))
def test_fit_then_likelihood_elbo_and_kl_match_enumeration(config):
    x = make_data()
    model = make(**config)
    relaxed = config["estimator"] in RELAXATIONS
    model.compile(
        optimizer=keras.optimizers.Adam(5e-2),
        schedules={"temperature": Geometric(1.0, 0.5, steps=20)} if relaxed else None,
    )
    history = model.fit(
        x, epochs=10, batch_size=32, verbose=0, shuffle=False, adapt=False
    ).history
    # Trains: 30 steps from a random init raise the ELBO (the negated loss,
    # but for the baseline network's squared error) by about a nat.
    assert history["elbo"][-1] > history["elbo"][0] + 0.5, history["elbo"]
    if relaxed:
        # τ followed the schedule (steps ≥ 20 → its end value).
        np.testing.assert_allclose(
            to_numpy(model.encoder.latent.temperature_variable), 0.5
        )
    elif config["estimator"] == "score_function":
        # The baseline's statistics were updated once a step, through the
        # backends' stateless training too.
        np.testing.assert_allclose(to_numpy(model.estimator.moving_baseline.count), 30)

    x = x[:ROWS]
    exact = enumerate_model(model, x)
    # IWAE with K = 4000 over 9 codes: tight up to Monte Carlo error.
    estimate = model.log_likelihood(x, num_samples=4000)
    np.testing.assert_allclose(estimate, exact["log_px"], atol=0.05)

    # Evaluation is the discrete model: the KL exactly, the reconstruction as
    # a one-sample estimate (REPEATS copies of each example average it).
    metrics = model.evaluate(
        np.repeat(x, REPEATS, axis=0),
        batch_size=ROWS * REPEATS,
        verbose=0,
        return_dict=True,
    )
    np.testing.assert_allclose(metrics["kl"], exact["kl"].mean(), rtol=1e-4)
    standard_error = np.sqrt(exact["var_log_px_z"].mean() / (ROWS * REPEATS))
    np.testing.assert_allclose(
        metrics["elbo"], exact["elbo"].mean(), atol=5 * standard_error + 1e-4
    )
    assert np.all(exact["elbo"] <= exact["log_px"] + 1e-9)
    assert metrics["elbo"] <= exact["log_px"].mean() + 5 * standard_error


def test_training_samples():
    """Score function: one-hot z ~ q; relaxations: simplex points or one-hot."""
    x = np.repeat(make_data(1, seed=4), ROWS * REPEATS, axis=0)
    model = make(estimator="score_function")

    def latents(training):
        z = to_numpy(model(x, training=training)["latents"])
        assert z.shape == (len(x), LATENTS * CATEGORIES)  # flattened one-hot
        return z.reshape(len(x), LATENTS, CATEGORIES)

    z = latents(True)
    np.testing.assert_array_equal(z, np.eye(CATEGORIES)[z.argmax(-1)])
    q = special.softmax(posterior_logits(model, x[:1])[0], -1)
    frequency = z.mean(0)
    tolerance = 5 * np.sqrt(q * (1 - q) / len(x))
    assert np.all(np.abs(frequency - q) <= tolerance), (frequency, q)

    for estimator in ("gumbel_softmax", "straight_through"):
        model = make(estimator=estimator)
        y = latents(True)
        np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-5)
        one_hot = np.all(np.isin(y, (0.0, 1.0)))
        assert one_hot == (estimator == "straight_through")
        z = latents(False)
        np.testing.assert_array_equal(z, np.eye(CATEGORIES)[z.argmax(-1)])


def test_encode_decode_generate():
    model = make(prior="learned")
    x = make_data(ROWS)
    codes, probs = model.encode(x)
    # Codes are flattened one-hot vectors, probabilities the flattened softmax.
    assert codes.shape == probs.shape == (ROWS, LATENTS * CATEGORIES)
    assert codes.dtype.kind == "f"
    expected = special.softmax(posterior_logits(model, x), -1)
    np.testing.assert_allclose(probs, expected.reshape(ROWS, -1), rtol=1e-5, atol=1e-7)
    # encode(sample=False) is the mode: the one-hot argmax of each latent.
    index = probs.reshape(ROWS, LATENTS, CATEGORIES).argmax(-1)
    np.testing.assert_array_equal(
        codes, np.eye(CATEGORIES, dtype="float32")[index].reshape(ROWS, -1)
    )
    decoded = model.decode(codes)
    assert isinstance(decoded, np.ndarray) and decoded.shape == (ROWS, INPUT_DIM)
    np.testing.assert_allclose(
        decoded, special.expit(decoder_logits(model, codes)), rtol=1e-6
    )
    reconstruction = model.reconstruct(x)
    assert reconstruction.shape == (ROWS, INPUT_DIM)
    assert np.all((reconstruction >= 0) & (reconstruction <= 1))
    # A prior concentrated on code (1, 2) generates that code's pixels.
    model.prior.logits.assign(30.0 * np.eye(CATEGORIES)[[1, 2]] - 15.0)
    generated = model.generate(ROWS)
    target_code = np.eye(CATEGORIES, dtype="float32")[[1, 2]].reshape(1, -1)
    target = model.decode(np.repeat(target_code, ROWS, axis=0))
    np.testing.assert_allclose(generated, target, rtol=1e-5)
    with pytest.raises(ValueError, match="Received: z with shape"):
        model.decode(np.zeros((2, 5), "float32"))


@pytest.mark.parametrize(
    "config",
    [
        {"estimator": "gumbel_softmax", "prior": "learned", "temperature": 0.8},
        {"estimator": "score_function", "baseline": "input_dependent"},
        {"estimator": "relax"},
    ],
    ids=lambda c: c["estimator"],
)
def test_save_load_round_trip(tmp_path, config):
    model = make(activation="tanh", **config)
    model.adapt(make_data())
    rng = np.random.default_rng(2)
    model.prior.logits.assign(rng.normal(size=(LATENTS, CATEGORIES)))
    if model.estimator is None:
        model.encoder.latent.temperature_variable.assign(0.3)  # as if annealed
    elif config["estimator"] == "relax":  # its trained control variate
        model.estimator.eta_variable.assign(0.4)
        model.estimator.network.layers[-1].bias.assign([1.5])
    else:
        model.estimator.moving_baseline.moving_mean.assign(-4.0)
    clone = CategoricalVAE.from_config(model.get_config())
    assert clone.get_config() == model.get_config()

    path = str(tmp_path / "categorical.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is CategoricalVAE
    assert loaded.get_config() == model.get_config()
    # Every variable (weights, τ, the baseline's statistics, the seed
    # generators' states) comes back; layer names may be renumbered.
    assert len(loaded.variables) == len(model.variables)
    for before, after in zip(model.variables, loaded.variables, strict=True):
        assert after.name == before.name
        np.testing.assert_array_equal(to_numpy(after), to_numpy(before))
    x = make_data(ROWS, seed=5)
    codes = ONE_HOT.reshape(len(CODES), -1)
    np.testing.assert_array_equal(loaded.decode(codes), model.decode(codes))
    np.testing.assert_array_equal(
        enumerate_model(loaded, x)["log_px"], enumerate_model(model, x)["log_px"]
    )


def test_bad_data_raises_before_training():
    model = make()
    model.compile(optimizer="adam")
    weights = [to_numpy(w) for w in model.trainable_weights]
    x = make_data(ROWS)
    nan = x.copy()
    nan[0, 0] = np.nan
    for bad, match in (
        (x * 0.5, "must be binary"),
        (x[:, :5], "must have shape"),
        (nan, "NaN"),
    ):
        with pytest.raises(ValueError, match=match):
            model.fit(bad, epochs=1, verbose=0)
        with pytest.raises(ValueError, match=match):
            model.log_likelihood(bad, num_samples=2)
        if match == "must be binary":
            # Encoding takes grey levels (a binarised set's expectation);
            # only scoring needs binary pixels. Out of [0, 1] still raises.
            assert model.encode(bad)[0].shape == (ROWS, LATENTS * CATEGORIES)
            with pytest.raises(ValueError, match="likelihood's range"):
                model.encode(bad + 1.0)
        else:
            with pytest.raises(ValueError, match=match):
                model.encode(bad)
    with pytest.raises(ValueError, match="must be binary"):
        model.fit(x, validation_data=(x * 0.5,), epochs=1, verbose=0)
    for before, after in zip(weights, model.trainable_weights, strict=True):
        np.testing.assert_array_equal(to_numpy(after), before)


@pytest.mark.parametrize(
    "name, value",
    [
        ("image_shape", 0),
        ("num_latents", 0),
        ("num_latents", 2.5),
        ("num_categories", 1),
        ("hidden_units", (8, 0)),
        ("hidden_units", "big"),
        ("activation", "no_such_activation"),
        ("estimator", "reinforce"),
        ("temperature", 0.0),
        ("temperature", float("nan")),
        ("temperature", "hot"),
        ("baseline", "constant"),
        ("prior", "gaussian"),
        ("seed", -1),
    ],
)
def test_bad_arguments(name, value):
    with pytest.raises(ValueError, match=rf"Received: {name}="):
        make(**{name: value})


def test_marginal_penalty_trades_the_kl_for_that_of_the_mean_posterior():
    # E_x KL(q(z|x) ‖ p) - KL(q̄ ‖ p) = E_x KL(q(z|x) ‖ q̄): the "marginal"
    # loss is the ELBO's less that batch mutual information (InfoVAE α = 1).
    model = make(prior="learned", kl_penalty="marginal")
    rng = np.random.default_rng(3)
    model.prior.logits.assign(rng.normal(size=(LATENTS, CATEGORIES)))
    x = make_data(ROWS, seed=4)
    y_pred = model(x, training=True)
    losses = {}
    for penalty in ("elbo", "marginal"):
        model.kl_penalty = penalty
        losses[penalty] = float(to_numpy(model.compute_loss(x, y_pred=y_pred)))
    log_q = special.log_softmax(posterior_logits(model, x).astype("float64"), -1)
    q = np.exp(log_q)
    log_q_bar = np.log(q.mean(0))
    information = (q * (log_q - log_q_bar)).sum((-2, -1)).mean()
    assert information > 0.01
    np.testing.assert_allclose(
        losses["elbo"] - losses["marginal"], information, rtol=1e-4, atol=1e-5
    )
    # The reported ELBO is the model's, whatever the loss.
    elbo = enumerate_model(model, x)
    assert np.isfinite(elbo["elbo"]).all()
    posterior, _ = model.encoder.run(keras.ops.convert_to_tensor(x), training=False)
    kl = keras.ops.zeros((ROWS,))
    marginal = to_numpy(model.latent_penalty(posterior, kl))
    log_prior = special.log_softmax(to_numpy(model.prior.logits).astype("float64"), -1)
    expected = (q.mean(0) * (log_q_bar - log_prior)).sum()
    np.testing.assert_allclose(marginal, np.full(ROWS, expected), rtol=1e-4)


def test_mixture_prior_likelihood_matches_numerical_integration():
    # One 3-way latent over one Gaussian unit h, pixels from h alone:
    # p(x) = Σ_c p(c) ∫ N(h; m_c, s_c²) p(x|h) dh, integrated on a grid.
    model = make(num_latents=1, local_units=1, kl_penalty="marginal", prior="learned")
    rng = np.random.default_rng(6)
    model.prior.logits.assign(rng.normal(size=(1, CATEGORIES)))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(make_data(), epochs=3, batch_size=32, verbose=0)
    assert model.decoder.network.layers[0].kernel.shape[0] == 1  # p(x|h) only
    x = make_data(4, seed=7).astype("float64")
    one_hot = np.eye(CATEGORIES, dtype="float32")
    params = to_numpy(model.decoder.continuous_priors[0](one_hot)).astype("float64")
    means, log_vars = params[:, 0], np.clip(params[:, 1], -12, 12)
    sds = np.exp(0.5 * log_vars)
    grid = np.linspace((means - 12 * sds).min(), (means + 12 * sds).max(), 4001)
    logits = to_numpy(model.decoder.network(grid[:, None].astype("float32")))
    logits = logits.astype("float64")
    log_px_h = x @ logits.T - np.logaddexp(0, logits).sum(-1)  # (4, grid)
    log_ph_c = -0.5 * ((grid - means[:, None]) / sds[:, None]) ** 2 - np.log(
        sds[:, None] * np.sqrt(2 * np.pi)
    )
    log_prior = special.log_softmax(to_numpy(model.prior.logits)[0].astype("float64"))
    integrand = special.logsumexp(
        log_prior[:, None, None] + log_ph_c[:, None] + log_px_h[None], axis=0
    )
    exact = special.logsumexp(integrand, axis=-1) + np.log(grid[1] - grid[0])
    estimate = model.log_likelihood(x.astype("float32"), num_samples=2000)
    # Importance weighting at K = 2000: a lower bound in expectation, with
    # a gap and a Monte Carlo spread of a few hundredths here.
    np.testing.assert_allclose(estimate, exact, atol=0.1)


def test_mixture_prior_config_and_save_round_trip(tmp_path):
    model = make(num_latents=1, local_units=2, kl_penalty="marginal")
    model.compile(optimizer="adam")
    model.fit(make_data(), epochs=1, batch_size=32, verbose=0)
    config = model.get_config()
    assert config["local_units"] == 2 and config["kl_penalty"] == "marginal"
    assert CategoricalVAE.from_config(config).get_config() == config
    path = str(tmp_path / "mixture.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == config
    for before, after in zip(model.variables, loaded.variables, strict=True):
        np.testing.assert_array_equal(to_numpy(after), to_numpy(before))
    x = make_data(ROWS, seed=8)
    np.testing.assert_array_equal(loaded.encode(x)[1], model.encode(x)[1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"local_units": -1}, "Received: local_units=-1"),
        ({"local_units": 1.5}, "Received: local_units=1.5"),
        ({"kl_penalty": "free"}, "Received: kl_penalty='free'"),
        ({"local_units": 2, "estimator": "disarm"}, "local_units=2"),
    ],
)
def test_bad_mixture_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(**kwargs)

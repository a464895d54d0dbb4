"""Half precision is refused at construction, naming the policy."""

import keras
import numpy as np
import pytest

from keras_dvae import layers, models, priors
from keras_dvae.utils import checks
from tests.helpers import to_numpy

LOW_PRECISION = ["mixed_float16", "float16", "bfloat16", "mixed_bfloat16"]

# Every model class and every layer that samples (constructed with the
# fewest arguments: the refusal comes before anything is built).
MODELS = {
    "DiscreteVAE": lambda **kw: models.DiscreteVAE(None, None, None, None, (4,), **kw),
    "DVAEPP": models.DVAEPP,
    "DVAE": models.DVAE,
    "BernoulliVAE": models.BernoulliVAE,
    "CategoricalVAE": models.CategoricalVAE,
    "ConvDVAEPP": models.ConvDVAEPP,
}
LAYERS = {
    "SmoothedBernoulli": layers.SmoothedBernoulli,
    "GumbelSoftmax": lambda **kw: layers.GumbelSoftmax(2, 3, **kw),
    "GaussianLatent": layers.GaussianLatent,
    "RBMPrior": lambda **kw: priors.RBMPrior(2, 2, num_chains=4, **kw),
    "BernoulliPrior": lambda **kw: priors.BernoulliPrior(4, **kw),
    "CategoricalPrior": lambda **kw: priors.CategoricalPrior(2, 3, **kw),
    "NormalPrior": lambda **kw: priors.NormalPrior(2, **kw),
}
CONSTRUCTORS = {**MODELS, **LAYERS}


@pytest.fixture
def global_policy():
    """Sets the global dtype policy for one test and restores it after."""
    previous = keras.config.dtype_policy()
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("policy", LOW_PRECISION)
@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_a_half_precision_dtype_argument_is_refused(name, policy):
    with pytest.raises(ValueError) as info:
        CONSTRUCTORS[name](dtype=policy)
    message = str(info.value)
    assert message.startswith(f"{name} supports float32 (and float64) only")
    assert f"`dtype` is {policy!r}" in message and 'dtype="float32"' in message
    assert message.endswith(f"Received: dtype={policy!r}")


@pytest.mark.parametrize("policy", LOW_PRECISION)
@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_a_half_precision_global_policy_is_refused(name, policy, global_policy):
    global_policy(policy)
    with pytest.raises(ValueError) as info:
        CONSTRUCTORS[name]()
    message = str(info.value)
    # A named model is refused before it builds its parts, so the message
    # names the class the user called, not one of its layers.
    assert message.startswith(f"{name} supports float32 (and float64) only")
    assert f"the global dtype policy is {policy!r}" in message
    assert 'keras.config.set_dtype_policy("float32")' in message
    assert message.endswith(f"Received: dtype_policy={policy!r}")


def test_a_policy_object_or_config_is_resolved():
    with pytest.raises(ValueError, match="Received: dtype='mixed_bfloat16'"):
        checks.check_dtype_policy("X", keras.DTypePolicy("mixed_bfloat16"))
    config = keras.saving.serialize_keras_object(keras.DTypePolicy("float16"))
    with pytest.raises(ValueError, match="Received: dtype='float16'"):
        checks.check_dtype_policy("X", config)


def test_float32_models_and_layers_still_work(global_policy):
    """The check refuses half precision only: float32 (the default, named
    explicitly or set globally) and float64 pass, and a model trains."""
    checks.check_dtype_policy("X", "float64")
    global_policy("float32")
    for name, build in LAYERS.items():
        assert build(dtype="float32").compute_dtype == "float32", name
    model = models.DVAEPP(
        image_shape=(8,),
        num_latents=4,
        hidden_units=(8,),
        num_chains=4,
        gibbs_sweeps=1,
        seed=0,
        dtype="float32",
    )
    x = (np.random.default_rng(0).random((16, 8)) < 0.5).astype("float32")
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    assert to_numpy(model.encode(x)[0]).shape[0] == 16

"""Named training configurations: a model, a dataset and a recipe.

Each preset derives from `BASE` and overrides a few keys; unknown keys
raise. `keras-dvae presets` lists them and `keras-dvae train --preset NAME`
trains one (any key can be overridden from the command line).

>>> from keras_dvae import presets
>>> preset = presets.get("digits_dvaepp")
>>> preset["model"], preset["dataset"]
('DVAEPP', 'digits')
"""

import copy

BASE = {
    "description": "",
    "model": "DVAEPP",
    "dataset": "digits",
    "model_args": {},
    "epochs": 150,
    "batch_size": 100,
    "learning_rate": 3e-3,
    # Fraction of training over which the KL weight rises from 0 to 1.
    "kl_warmup": 0.3,
    # (start, end) of a linear β schedule over training, or None.
    "beta_schedule": None,
    # (start, end) of an exponential τ schedule (categorical models), or None.
    "temperature_schedule": None,
    "num_samples": 1000,
}

_MNIST_RECIPE = {"epochs": 2000, "num_samples": 4000}

PRESETS = {
    "digits_dvaepp": {
        "description": "DVAE++ (RBM 16+16, overlapping exponential β=10) on the "
        "embedded 8×8 digits; log Z exact. The README's main job.",
        "model_args": {
            "latents_per_group": 32,
            "structure": [128, 128],
            "num_chains": 100,
            "gibbs_sweeps": 10,
        },
    },
    "digits_bernoulli": {
        "description": "Factorial-prior BernoulliVAE (joint ELBO) on digits.",
        "model": "BernoulliVAE",
        "model_args": {"latents_per_group": 32, "structure": [128, 128]},
    },
    "digits_categorical": {
        "description": "Gumbel-softmax CategoricalVAE, 8 latents × 8 categories, "
        "on digits; τ annealed from 1 to 0.5.",
        "model": "CategoricalVAE",
        "model_args": {
            "num_latents": 8,
            "num_categories": 8,
            "hidden_units": [128, 128],
        },
        "temperature_schedule": [1.0, 0.5],
        "learning_rate": 1e-3,
    },
    "mnist_dvaepp_2nl": {
        "description": "DVAE++ Table 2 '2 nonlinear' (reference recipe, 10⁶ steps).",
        "dataset": "mnist_static",
        "model_args": {"num_groups": 2},
        **_MNIST_RECIPE,
    },
    "mnist_dvae_2nl": {
        "description": "DVAE (Rolfe) Table 2 '2 nonlinear' (reference recipe).",
        "model": "DVAE",
        "dataset": "mnist_static",
        "model_args": {"num_groups": 2},
        **_MNIST_RECIPE,
    },
    "mnist_joint_1nl": {
        "description": "DVAE++ Table 1 nonlinear, joint ELBO, factorial prior.",
        "model": "BernoulliVAE",
        "dataset": "mnist_static",
        "model_args": {"num_groups": 1, "elbo": "joint"},
        "beta_schedule": [6.0, 15.0],
        **_MNIST_RECIPE,
    },
    "mnist_marginal_1nl": {
        "description": "DVAE++ Table 1 nonlinear, marginal ELBO, factorial prior.",
        "model": "BernoulliVAE",
        "dataset": "mnist_static",
        "model_args": {"num_groups": 1, "elbo": "marginal"},
        "beta_schedule": [6.0, 15.0],
        **_MNIST_RECIPE,
    },
    "mnist_categorical": {
        "description": "Gumbel-softmax VAE of Jang et al.: 30 × 10 categories, "
        "dynamic MNIST, τ = max(0.5, exp(−3e-5 step)).",
        "model": "CategoricalVAE",
        "dataset": "mnist",
        "model_args": {"num_latents": 30, "num_categories": 10},
        "learning_rate": 1e-3,
        "temperature_schedule": [1.0, 0.5],
        "epochs": 100,
    },
}


def names():
    """The preset names."""
    return sorted(PRESETS)


def get(name, **overrides):
    """The preset `name` as a full config (BASE updated), with `overrides`.

    Raises:
        ValueError: for an unknown preset or key.
    """
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset; expected one of {names()}. Received: name={name!r}"
        )
    config = copy.deepcopy(BASE)
    for source in (PRESETS[name], overrides):
        unknown = sorted(set(source) - set(BASE))
        if unknown:
            raise ValueError(
                f"Unknown preset key(s) {unknown}; expected keys of {sorted(BASE)}. "
                f"Received: {unknown[0]}={source[unknown[0]]!r}"
            )
        for key, value in source.items():
            if key == "model_args":
                config[key].update(copy.deepcopy(value))
            elif value is not None or key in ("beta_schedule", "temperature_schedule"):
                config[key] = copy.deepcopy(value)
    return config

"""Training recipes: one registry of named configurations (model, data, recipe).

A recipe is `BASE` plus the keys that differ. A pretrained preset
(`keras_dvae.zoo`) is the recipe of the same name + its trained weights +
measured metadata. `keras_dvae.training.train(name)` trains any recipe.

Keys (all recipes have all of them; unknown keys raise):

- `description`: one line.
- `paper`: the published figure the recipe reproduces, `{"setting",
  "test_ll"}` or `{"setting", "bits_per_dim"}`, or None.
- `model`: a class name of `keras_dvae.models`; `model_args`: its
  constructor arguments, except `image_shape` (from the data) and `seed`.
- `dataset`: a `keras_dvae.datasets.load` name.
- `epochs`, `batch_size`: the budget (the papers' 10⁶ iterations are far
  longer, METHODS.md §4); an epoch is `len(x_train) // batch_size` batches.
- `learning_rate` and `schedule`: Adam (ε = 1e-3) at this base rate,
  "reference" (`callbacks.reference_learning_rate`) or "constant".
- `kl_warmup`: fraction of the steps of a linear KL-weight warm-up (0: none).
- `beta_schedule`, `temperature_schedule`: (start, end) of a linear β or a
  geometric τ schedule over training, or None.
- `log_partition_every`: epochs between log Z estimates of an RBM prior
  during training ("auto": exact or AIS), or None (large RBMs, whose AIS
  would cost more than the epoch).
- `eval_examples` (None: the whole test set; else a fixed random subset,
  `training.evaluation_rows`), `eval_samples` (K), `full_test_samples` (K
  on the whole test set, or None), `reverse_ais` (a reverse-AIS bracket of
  log Z), `ais` (AIS arguments).
- `ci_examples`, `ci_samples`: the cheap re-measurement a preset records.
- `selection`: None (the last epoch's weights are the model), or
  `{"every", "examples", "num_samples"}`: the weights kept are those of
  the epoch with the best validation log-likelihood at K = `num_samples`,
  evaluated every `every` epochs and after the last
  (`callbacks.BestValidation`) on `examples` rows of the validation split
  (None: all of them; else the fixed random subset of
  `training.evaluation_rows`). It needs a dataset with a validation split.

The last three groups are `EVALUATION_KEYS`: they may change between an
interrupted run and its rerun (`training.train` resumes it): they choose
and measure the weights, and do not change the training (the validation
evaluations restore every random state they draw from). `reverse_ais`
and `ais` need a prior with a log Z (an RBM); `training.build_model` refuses
them for a normalised one.
"""

import copy

from keras_dvae.utils.checks import check_positive_int

BASE = {
    "description": "",
    "paper": None,
    "model": "DVAEPP",
    "model_args": {},
    "dataset": "digits",
    "epochs": 150,
    "batch_size": 100,
    "learning_rate": 3e-3,
    "schedule": "reference",
    "kl_warmup": 0.3,
    "beta_schedule": None,
    "temperature_schedule": None,
    "log_partition_every": 1,
    "eval_examples": None,
    "eval_samples": 1000,
    "full_test_samples": None,
    "reverse_ais": False,
    "ais": {},
    "ci_examples": 50,
    "ci_samples": 100,
    "selection": None,
}

SCHEDULES = ("reference", "constant")

#: The keys that describe a recipe, not its training: a run's identity
#: (`training.train`) leaves them out, as it does `EVALUATION_KEYS`.
DESCRIPTIVE_KEYS = ("description", "paper")

#: The keys that say how a trained model is measured, not how it is
#: trained: a run's identity (`training.train`) leaves them out, so a
#: finished or interrupted run can be evaluated under new ones.
EVALUATION_KEYS = (
    "eval_examples",
    "eval_samples",
    "full_test_samples",
    "reverse_ais",
    "ais",
    "ci_examples",
    "ci_samples",
    "selection",
)

#: The keys of a recipe's `selection` dict.
SELECTION_KEYS = ("every", "examples", "num_samples")

#: 100 PCD chains × 10 Gibbs sweeps (the paper's are 1000 × 40).
_LIGHT_PCD = {"num_chains": 100, "gibbs_sweeps": 10}

#: The small convolutional presets (`dvaepp_small_*`): 4 groups of 8×8×4
#: local latents, 32 filters; 2.2× the steps/s of Table 3's model on the
#: 2-core CPU (`benchmarks/conv_sizes.py`). Until 2026-12-01 they were the
#: `dvaepp_*` presets.
_CONV_SMALL = {
    "model": "ConvDVAEPP",
    "model_args": {
        "num_latents": 16,
        "num_groups": 2,
        "local_groups": 4,
        "local_channels": 4,
        "filters": 32,
        "hidden_units": [256],
        **_LIGHT_PCD,
    },
    "learning_rate": 1e-3,
    "eval_examples": 200,
}

#: The convolutional model of DVAE++ Table 3 (`dvaepp_*`): a global RBM of
#: 16 binary units (two posterior groups) over the paper's 16 groups of
#: local Normal latents, evaluated as the paper does (K = 4000 on the whole
#: test set). The paper's widths are not in our notes (METHODS.md §3
#: gives the units and groups): 32 filters keep a preset's weights at 3.7
#: MB, so the wheel carries the zoo and the GPU machine's 64 MiB working
#: tree holds it (64 filters: 9.8 MB a preset). Light PCD, as the fully
#: connected presets (the zoo README's ablation). Made for a GPU
#: (`scripts/zoo_gpu.sh`): under 1 step/s on the 2-core CPU.
_CONV_PAPER = {
    "model": "ConvDVAEPP",
    "model_args": {**_CONV_SMALL["model_args"], "local_groups": 16},
    "learning_rate": 1e-3,
    "eval_samples": 4000,
}


def _paper_epochs(steps_per_epoch):
    """The epochs of the papers' 10⁶ iterations (batch 100)."""
    return -(-1_000_000 // steps_per_epoch)


# The convolutional recipes, per dataset: (description, paper, small
# preset's epochs, steps per epoch at batch 100, extra keys).
_CONV_DATASETS = {
    "mnist_static": (
        "statically binarised MNIST.",
        {"setting": "DVAE++ Table 3, MNIST static", "test_ll": -79.17},
        21,
        500,
        {},
    ),
    "mnist": (
        "dynamically binarised MNIST.",
        {"setting": "DVAE++ Table 3, MNIST dynamic", "test_ll": -78.49},
        42,
        500,
        {},
    ),
    "omniglot": (
        "Omniglot (28×28 by area resize of the 105×105 originals, dynamic "
        "binarisation, this library's split: see the dataset notes).",
        {"setting": "DVAE++ Table 3, Omniglot", "test_ll": -92.38},
        90,
        230,
        {},
    ),
    "caltech101_silhouettes": (
        "Caltech-101 Silhouettes 28×28.",
        {"setting": "DVAE++ Table 3, Caltech-101", "test_ll": -81.88},
        100,
        41,
        {},
    ),
    "cifar10": (
        "CIFAR-10 with a discretised logistic mixture, trained on the LOSSY "
        "JPEG copy (not comparable with published bits/dim).",
        {"setting": "DVAE++ Table 3, CIFAR-10", "bits_per_dim": 3.38},
        5,
        500,
        {"likelihood": "logistic_mixture"},
    ),
}


#: The convolutional recipes that keep their best validation epoch's
#: weights (`selection`), with the validation rows and K of each check:
#: Caltech-101 Silhouettes, whose 4,100 training images the small model
#: fits (a CPU stage of 4,100 → 25,748 steps raised its training ELBO by
#: 21 nats and did not move its test figure; the zoo README). The paper
#: size checks every 25,000 steps, as the reference code; the small model
#: every 50 epochs (2,050 steps), a minute of evaluation on the 2-core CPU
#: per 8 of training.
_CONV_SELECTION = {
    "caltech101_silhouettes": {"examples": 1000, "num_samples": 100},
}


def _conv_selection(dataset, every):
    """The `selection` of a convolutional recipe, or None."""
    found = _CONV_SELECTION.get(dataset)
    return None if found is None else {"every": every, **found}


def _conv_recipes():
    """`dvaepp_<dataset>` (paper size, the paper's 10⁶ steps) and
    `dvaepp_small_<dataset>` (the small model, its preset's epochs)."""
    out = {}
    for dataset, (text, paper, epochs, per_epoch, args) in _CONV_DATASETS.items():
        common = {"dataset": dataset, "paper": paper}
        out[f"dvaepp_{dataset}"] = {
            **_CONV_PAPER,
            **common,
            "description": "Convolutional DVAE++ of DVAE++ Table 3 (RBM 8+8 "
            "global binary units, overlapping exponential β=10; 16 groups of "
            f"8×8×4 local Normal latents, 32 filters) on {text}",
            "model_args": {**_CONV_PAPER["model_args"], **args},
            "epochs": _paper_epochs(per_epoch),
            "selection": _conv_selection(dataset, -(-25_000 // per_epoch)),
        }
        out[f"dvaepp_small_{dataset}"] = {
            **_CONV_SMALL,
            **common,
            "description": "Small convolutional DVAE++ (RBM 8+8 global binary "
            "units, overlapping exponential β=10; 4 groups of 8×8×4 local "
            f"Normal latents, 32 filters) on {text}",
            "model_args": {**_CONV_SMALL["model_args"], **args},
            "epochs": epochs,
            "selection": _conv_selection(dataset, 50),
            **({"eval_examples": 100} if dataset == "cifar10" else {}),
        }
    return out


#: DVAE++ Tables 1–2 on static MNIST (METHODS.md §4 except the budget: these
#: epochs and 100 PCD chains × 10 sweeps instead of 10⁶ steps and 1000 × 40).
_TABLES = {
    "dataset": "mnist_static",
    "log_partition_every": None,
    "eval_examples": 500,
    "eval_samples": 4000,
    "full_test_samples": 100,
    "reverse_ais": True,
    "ais": {"num_betas": 10000, "num_chains": 500},
    "ci_examples": 100,
    # The reference code's model selection (METHODS.md §4), every 25,000
    # steps on a fixed 2,000 of the 10,000 validation images: the same
    # images each time, so two evaluations differ by far less than either
    # figure's spread over images.
    "selection": {"every": 50, "examples": 2000, "num_samples": 100},
}


def _table(paper, **keys):
    return {**_TABLES, "paper": paper, **keys}


def _table_1(elbo, test_ll, table_1_ll, epochs):
    """DVAE++ Table 1's setting: one nonlinear group, factorial prior, β
    6 → 15; the prior is normalised, so there is no log Z to estimate (no
    AIS). The paper's figure is the same configuration's at K = 4000 in
    Table 2 (its directed prior over one group is factorial), where the
    zoo measures; Table 1's K = 100 figure is named in the setting."""
    setting = {"joint": "Joint", "marginal": "Marg."}[elbo]
    return _table(
        {
            "setting": f"Table 2 1 nonlinear, {setting} ELBO (K=4000; Table 1 "
            f"gives {table_1_ll} at K=100)",
            "test_ll": test_ll,
        },
        description="DVAE++ Tables 1-2: one nonlinear group, factorial prior, "
        f"{elbo} ELBO, β 6 → 15.",
        model="BernoulliVAE",
        model_args={"num_groups": 1, "elbo": elbo},
        epochs=epochs,
        beta_schedule=[6.0, 15.0],
        reverse_ais=False,
        ais={},
    )


# Jang et al.'s categorical VAE; `categorical_st_mnist` changes its estimator.
_CATEGORICAL_MNIST = {
    "description": "Gumbel-softmax categorical VAE (30 latents × 10 "
    "categories, MLP 512-256 ReLU; τ annealed from 1 to 0.5) on "
    "dynamically binarised MNIST (Jang et al.'s setting).",
    "model": "CategoricalVAE",
    "dataset": "mnist",
    "model_args": {
        "num_latents": 30,
        "num_categories": 10,
        "hidden_units": [512, 256],
    },
    # KL warm-up (BASE) is needed here: with the decoder bias at the data
    # mean (`adapt`), a full-weight KL from step 0 collapses every
    # posterior to the uniform prior within the first epoch.
    "learning_rate": 1e-3,
    "schedule": "constant",
    "temperature_schedule": [1.0, 0.5],
    "epochs": 160,
    "eval_examples": 200,
}


RECIPES = {
    "digits_dvaepp": {
        "description": "DVAE++ (RBM 16+16, overlapping exponential β=10) on the "
        "embedded 8×8 digits; log Z exact. The README's main job (`make demo`).",
        "model_args": {"num_latents": 32, "hidden_units": [128, 128], **_LIGHT_PCD},
    },
    "digits_bernoulli": {
        "description": "Factorial-prior BernoulliVAE (joint ELBO) on digits.",
        "model": "BernoulliVAE",
        "model_args": {"num_latents": 32, "hidden_units": [128, 128]},
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
        "learning_rate": 1e-3,
        "temperature_schedule": [1.0, 0.5],
    },
    "bernoulli_joint_1nl_mnist_static": _table_1("joint", -95.04, -99.16, epochs=40),
    "bernoulli_marginal_1nl_mnist_static": _table_1(
        "marginal", -95.06, -99.10, epochs=30
    ),
    "dvaepp_1nl_mnist_static": _table(
        {"setting": "Table 2 1 nonlinear, RBM (DVAE++) (K=4000)", "test_ll": -85.41},
        description="DVAE++ Table 2: one nonlinear group, RBM prior 100+100.",
        model_args={"num_groups": 1, **_LIGHT_PCD},
        epochs=30,
    ),
    "dvae_1nl_mnist_static": _table(
        {"setting": "Table 2 1 nonlinear, RBM (Rolfe) (K=4000)", "test_ll": -85.57},
        description="Rolfe's DVAE (spike-and-exponential β=4), Table 2: one "
        "nonlinear group, RBM prior 100+100.",
        model="DVAE",
        model_args={"num_groups": 1, **_LIGHT_PCD},
        epochs=30,
    ),
    "dvaepp_2nl_mnist_static": _table(
        {"setting": "Table 2 2 nonlinear, RBM (DVAE++) (K=4000)", "test_ll": -84.27},
        description="DVAE++ Table 2: two nonlinear groups, RBM prior 200+200.",
        model_args={"num_latents": 400, "num_groups": 2, **_LIGHT_PCD},
        epochs=120,
    ),
    "dvae_2nl_mnist_static": _table(
        {"setting": "Table 2 2 nonlinear, RBM (Rolfe) (K=4000)", "test_ll": -84.52},
        description="Rolfe's DVAE (spike-and-exponential β=4), Table 2: two "
        "nonlinear groups, RBM prior 200+200.",
        model="DVAE",
        model_args={"num_latents": 400, "num_groups": 2, **_LIGHT_PCD},
        epochs=40,
    ),
    "categorical_mnist": _CATEGORICAL_MNIST,
    "categorical_st_mnist": {
        **_CATEGORICAL_MNIST,
        "description": "Straight-through Gumbel-softmax categorical VAE (30 "
        "latents × 10 categories, MLP 512-256 ReLU; τ annealed from 1 to 0.5) "
        "on dynamically binarised MNIST: the decoder sees one-hot codes in "
        "training, as in the discrete-limit evaluation.",
        "model_args": {
            **_CATEGORICAL_MNIST["model_args"],
            "estimator": "straight_through",
        },
    },
    **_conv_recipes(),
}


def list_recipes():
    """The recipe names, sorted.

    Example:

    >>> "dvaepp_2nl_mnist_static" in list_recipes()
    True
    """
    return sorted(RECIPES)


def get(name, **overrides):
    """The full recipe `name` (`BASE` updated by the recipe), with `overrides`.

    `model_args` overrides are merged into the recipe's; other keys replace
    its value (`beta_schedule=None` switches a schedule off).

    Args:
        name: a name of `list_recipes()`, or a recipe dict (completed
            from `BASE` and checked).
        **overrides: recipe keys (see the module docstring).

    Raises:
        ValueError: an unknown name, an unknown key or a bad value.

    Example:

    >>> recipe = get("digits_dvaepp", epochs=3, model_args={"num_chains": 7})
    >>> recipe["model"], recipe["epochs"], recipe["model_args"]["num_chains"]
    ('DVAEPP', 3, 7)
    """
    if isinstance(name, dict):
        return _resolve(name, overrides)
    if name not in RECIPES:
        raise ValueError(
            f"Unknown recipe; expected one of {list_recipes()}. Received: name={name!r}"
        )
    return _resolve(RECIPES[name], overrides)


def make(**keys):
    """A recipe from `BASE` and `keys` (merged as `get` does), without a name.

    Example:

    >>> make(epochs=5)["learning_rate"]
    0.003
    """
    return _resolve(keys, {})


def _resolve(keys, overrides):
    recipe = copy.deepcopy(BASE)
    for source in (keys, overrides):
        unknown = sorted(set(source) - set(BASE))
        if unknown:
            raise ValueError(
                f"Unknown recipe key(s) {unknown}; expected keys of "
                f"{sorted(BASE)}. Received: {unknown[0]}={source[unknown[0]]!r}"
            )
        for key, value in source.items():
            if key == "model_args":
                if not isinstance(value, dict):
                    raise ValueError(
                        f"`model_args` must be a dict. Received: model_args={value!r}"
                    )
                recipe[key].update(copy.deepcopy(value))
            else:
                recipe[key] = copy.deepcopy(value)
    return check(recipe)


def check(recipe):
    """Checks the values of a full recipe; returns it.

    Raises:
        ValueError: a bad value, naming it.
    """
    for key in ("epochs", "batch_size", "eval_samples", "ci_examples", "ci_samples"):
        check_positive_int(key, recipe[key])
    for key in ("eval_examples", "full_test_samples", "log_partition_every"):
        if recipe[key] is not None:
            check_positive_int(key, recipe[key])
    if recipe["schedule"] not in SCHEDULES:
        raise ValueError(
            f"`schedule` must be one of {SCHEDULES}. "
            f"Received: schedule={recipe['schedule']!r}"
        )
    for key, rule, ok in (
        ("learning_rate", "a number > 0", lambda v: v > 0),
        ("kl_warmup", "in [0, 1]", lambda v: 0 <= v <= 1),
    ):
        value = recipe[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number and ok(value)):
            raise ValueError(f"`{key}` must be {rule}. Received: {key}={value!r}")
    for key in ("beta_schedule", "temperature_schedule"):
        value = recipe[key]
        if value is not None and (
            not isinstance(value, (list, tuple)) or len(value) != 2
        ):
            raise ValueError(
                f"`{key}` must be None or (start, end). Received: {key}={value!r}"
            )
    if not isinstance(recipe["ais"], dict):
        raise ValueError(f"`ais` must be a dict. Received: ais={recipe['ais']!r}")
    _check_selection(recipe["selection"])
    return recipe


def _check_selection(selection):
    if selection is None:
        return
    if not isinstance(selection, dict) or set(selection) != set(SELECTION_KEYS):
        raise ValueError(
            f"`selection` must be None or a dict of the keys {list(SELECTION_KEYS)}. "
            f"Received: selection={selection!r}"
        )
    check_positive_int("selection['every']", selection["every"])
    check_positive_int("selection['num_samples']", selection["num_samples"])
    if selection["examples"] is not None:
        check_positive_int("selection['examples']", selection["examples"])

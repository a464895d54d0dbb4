"""The recipe registry: names, keys, overrides, and one recipe per zoo preset
that rebuilds the preset's model (class, arguments, config)."""

import json
import pathlib
import types

import numpy as np
import pytest

from keras_dvae import models, recipes, training

ZOO = pathlib.Path(__file__).resolve().parents[1] / "zoo"
PRESET_FOLDERS = sorted(p.name for p in ZOO.iterdir() if (p / "config.json").is_file())


def _json(value):
    """Tuples and lists compare alike, as they do once written to JSON."""
    return json.loads(json.dumps(value))


def _zoo(name, file):
    return json.loads((ZOO / name / file).read_text())


def test_every_zoo_preset_has_a_recipe_of_its_name():
    assert len(PRESET_FOLDERS) >= 9
    missing = sorted(set(PRESET_FOLDERS) - set(recipes.list_recipes()))
    assert not missing


@pytest.mark.parametrize("name", PRESET_FOLDERS)
def test_recipe_matches_the_presets_config_and_metadata(name):
    recipe = recipes.get(name)
    config = _zoo(name, "config.json")
    metadata = _zoo(name, "metadata.json")
    assert recipe["model"] == config["class_name"]
    saved = config["config"]
    for key, value in recipe["model_args"].items():
        assert key in saved, f"{name}: {key} not in config.json"
        assert _json(value) == _json(saved[key]), f"{name}: {key}"
    # What the preset was trained on, for how long, against which figure.
    assert recipe["dataset"] == metadata["dataset"]
    # A continued preset records its stages: the recipe is the first one's.
    stages = metadata["training"].get("stages") or [metadata["training"]]
    assert stages[0]["epochs"] == _first_epochs(recipe, stages[0])
    assert sum(s["epochs"] for s in stages) == metadata["training"]["epochs"]
    assert recipe["paper"] == metadata["paper"]
    assert recipe["description"]


def _first_epochs(recipe, stage):
    """The epochs a preset's first stage ran: the recipe's, unless its
    command names others (`--epochs N`, what `--time-budget` records)."""
    words = stage.get("command", "").split()
    if "--epochs" in words:
        return int(words[words.index("--epochs") + 1])
    return recipe["epochs"]


def test_the_table_3_recipes_are_the_papers_model_and_budget():
    # DVAE++ Table 3: a global RBM of 16 binary units and 16 groups of local
    # Normal latents, K = 4000 on the whole test set, 10^6 steps of batch
    # 100; the small model keeps its weights under `dvaepp_small_*`. An
    # epoch's steps come from the small presets' own training records.
    datasets = ("mnist", "mnist_static", "omniglot", "caltech101_silhouettes")
    for dataset in (*datasets, "cifar10"):
        record = _zoo(f"dvaepp_small_{dataset}", "metadata.json")["training"]
        per_epoch = record["iterations"] // record["epochs"]
        paper, small = (
            recipes.get(f"dvaepp_{dataset}"),
            recipes.get(f"dvaepp_small_{dataset}"),
        )
        args = paper["model_args"]
        assert (paper["model"], paper["dataset"]) == ("ConvDVAEPP", dataset)
        assert (args["num_latents"], args["local_groups"]) == (16, 16)
        assert args.get("prior", "rbm") == "rbm"
        assert paper["eval_examples"] is None and paper["eval_samples"] == 4000
        assert (paper["epochs"] - 1) * per_epoch < 1_000_000
        assert paper["epochs"] * per_epoch >= 1_000_000
        assert small["model_args"]["local_groups"] == 4
        # The two differ in the local groups only, and reproduce one paper row.
        assert {
            k: v for k, v in small["model_args"].items() if k != "local_groups"
        } == {k: v for k, v in args.items() if k != "local_groups"}
        assert paper["paper"] == small["paper"]
    assert recipes.get("dvaepp_cifar10")["model_args"]["likelihood"] == (
        "logistic_mixture"
    )


def _data_like(name, metadata):
    """A stand-in `Dataset` of a preset's metadata or a recipe (its
    "dataset"): what `training.build_model` reads."""
    shape = {"cifar10": (32, 32, 3), "digits": (8, 8)}.get(
        metadata["dataset"], (28, 28)
    )
    return types.SimpleNamespace(
        name=metadata["dataset"],
        image_shape=shape,
        x_train=np.zeros((1, int(np.prod(shape))), "float32"),
    )


@pytest.mark.end_to_end
@pytest.mark.parametrize("name", PRESET_FOLDERS)
def test_recipe_rebuilds_the_presets_model(name):
    # The model `training.build_model` makes from the recipe has the
    # preset's configuration (every argument both configs hold). The seed
    # is the run's (`--seed`), not the recipe's: it is passed as trained.
    import keras

    keras.backend.clear_session()
    config = _zoo(name, "config.json")["config"]
    data = _data_like(name, _zoo(name, "metadata.json"))
    model = training.build_model(name, data, seed=config.get("seed", 0))
    rebuilt = _json(model.get_config())
    shared = sorted((set(rebuilt) & set(config)) - {"name", "trainable", "dtype"})
    assert len(shared) >= 5
    for key in shared:
        assert rebuilt[key] == config[key], f"{name}: {key}"


@pytest.mark.end_to_end
@pytest.mark.parametrize("name", recipes.list_recipes())
def test_every_recipe_builds_a_model_that_can_be_measured_as_it_says(name):
    # Trained presets or not: a recipe whose evaluation asks a log Z of a
    # normalised prior (AIS, reverse AIS) is refused when its model is
    # built, before any training, not by the evaluation after it.
    import keras

    keras.backend.clear_session()
    recipe = recipes.get(name)
    model = training.build_model(name, _data_like(name, recipe))
    if recipe["reverse_ais"] or recipe["ais"]:
        assert model.prior.has_log_partition, name


@pytest.mark.end_to_end
def test_a_log_z_estimate_of_a_normalised_prior_is_refused_at_build():
    recipe = recipes.get(
        "bernoulli_joint_1nl_mnist_static", reverse_ais=True, ais={"num_betas": 10}
    )
    data = _data_like("bernoulli_joint_1nl_mnist_static", recipe)
    with pytest.raises(ValueError, match=r"BernoulliPrior.*reverse_ais=True, ais="):
        training.build_model(recipe, data)


def test_names_of_the_other_configurations():
    names = set(recipes.list_recipes())
    assert {"digits_dvaepp", "digits_bernoulli", "digits_categorical"} <= names
    # DVAE++ Tables 1-2 (one name per configuration, in the zoo's scheme).
    assert {
        "bernoulli_joint_1nl_mnist_static",
        "bernoulli_marginal_1nl_mnist_static",
        "dvaepp_1nl_mnist_static",
        "dvae_1nl_mnist_static",
        "dvaepp_2nl_mnist_static",
        "dvae_2nl_mnist_static",
    } <= names


@pytest.mark.parametrize("name", recipes.list_recipes())
def test_every_recipe_is_complete_and_names_a_model(name):
    recipe = recipes.get(name)
    assert set(recipe) == set(recipes.BASE)
    assert isinstance(getattr(models, recipe["model"]), type)
    assert "\n" not in recipe["description"] and recipe["description"]
    assert recipe["schedule"] in recipes.SCHEDULES


def test_overrides_merge_model_args_and_replace_the_rest():
    recipe = recipes.get("digits_dvaepp", epochs=3, model_args={"num_chains": 7})
    assert recipe["epochs"] == 3
    assert recipe["model_args"]["num_chains"] == 7
    # The recipe's other model arguments survive a partial override.
    assert recipe["model_args"]["num_latents"] == 32
    # The registry is not changed by an override.
    assert recipes.get("digits_dvaepp")["model_args"]["num_chains"] == 100
    assert (
        recipes.get("bernoulli_joint_1nl_mnist_static", beta_schedule=None)[
            "beta_schedule"
        ]
        is None
    )
    # A recipe dict resolves too (what a run's config.json holds).
    assert recipes.get(recipes.get("dvaepp_mnist")) == recipes.get("dvaepp_mnist")
    assert recipes.make(epochs=5)["epochs"] == 5


def test_errors_end_with_the_received_value():
    with pytest.raises(ValueError, match="Received: name='nope'$"):
        recipes.get("nope")
    with pytest.raises(ValueError, match="Received: epoch=3$"):
        recipes.get("digits_dvaepp", epoch=3)
    with pytest.raises(ValueError, match="Received: schedule='cosine'$"):
        recipes.get("digits_dvaepp", schedule="cosine")
    with pytest.raises(ValueError, match="Received: kl_warmup=2$"):
        recipes.get("digits_dvaepp", kl_warmup=2)
    with pytest.raises(ValueError, match="Received: epochs=0$"):
        recipes.get("digits_dvaepp", epochs=0)
    with pytest.raises(ValueError, match=r"Received: beta_schedule=\[1\]$"):
        recipes.get("digits_dvaepp", beta_schedule=[1])
    with pytest.raises(ValueError, match="Received: model='Nope'$"):
        training.build_model({"model": "Nope"}, None)

"""Each application's `main` runs end to end on the digits data (--quick)."""

import json

import pytest

from applications import clustering, few_label, semantic_hashing, training

pytestmark = pytest.mark.end_to_end


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """Shared, so few_label reuses semantic_hashing's DVAE++ (one compile)."""
    return str(tmp_path_factory.mktemp("cache"))


def test_semantic_hashing(tmp_path, cache_dir):
    out = tmp_path / "hashing.json"
    result = semantic_hashing.main(
        ["--quick", "--dataset", "digits", "--bits", "8", "--num-queries", "50"]
        + ["--methods", "dvaepp", "dvaepp_local", "lsh", "pca_itq"]
        + ["--cache-dir", cache_dir, "--out", str(out)]
    )
    saved = json.loads(out.read_text())
    assert saved["num_queries"] == 50 and saved["database_size"] == 1497
    for method in ("dvaepp", "dvaepp_local", "lsh", "pca_itq"):
        entry = saved["results"][method]["8"]
        assert 0 < entry["map"] <= 1 and 0 <= entry["precision_at_100"] <= 1
    assert "| pca_itq |" in result["table"]
    assert "python -m applications.semantic_hashing" in saved["command"]


def test_few_label(tmp_path, cache_dir):
    out = tmp_path / "few_label.json"
    result = few_label.main(
        ["--quick", "--dataset", "digits", "--bits", "8", "--labels", "20", "50"]
        + ["--draws", "1", "--features", "pixels", "pca", "dvaepp_codes"]
        + ["dvaepp_finetuned", "--cache-dir", cache_dir, "--out", str(out)]
    )
    assert result["training"]["dvaepp"]["cached"]
    for name, dims in (("pixels", 64), ("pca", 8), ("dvaepp_codes", 8)):
        assert result["results"][name]["dims"] == dims
        for n in ("20", "50"):
            assert 0 <= result["results"][name][n]["mean"] <= 1
    assert 0 <= result["results"]["dvaepp_finetuned"]["50"]["mean"] <= 1
    assert json.loads(out.read_text())["table"] == result["table"]


def test_clustering(tmp_path):
    result = clustering.main(
        ["--quick", "--dataset", "digits", "--seeds", "0", "--out", str(tmp_path / "c")]
    )
    for method in ("categorical_vae", "categorical_vae_mixture", "kmeans_pixels"):
        run = result["results"][method]["runs"][0]
        assert 0 < run["test_acc"] <= 1 and 0 <= run["test_nmi"] <= 1
    assert result["results"]["kmeans_pixels"]["runs"][0]["test_acc"] > 0.4


def test_clustering_on_codes(tmp_path):
    """The *_codes methods cluster the codes of one LocalDVAEPP a seed,
    cached under the key the hashing module's "dvaepp_local" uses."""
    cache = tmp_path / "cache"
    result = clustering.main(
        ["--quick", "--dataset", "digits", "--seeds", "0", "--code-bits", "8"]
        + ["--methods", "categorical_vae_codes", "kmeans_codes"]
        + ["--cache-dir", str(cache), "--out", str(tmp_path / "c")]
    )
    runs = {m: r["runs"][0] for m, r in result["results"].items()}
    vae, kmeans = runs["categorical_vae_codes"], runs["kmeans_codes"]
    # Trained once, for both methods, and kept for semantic_hashing.
    assert vae["training"]["code_model"] is kmeans["training"]["code_model"]
    assert not vae["training"]["code_model"]["cached"]
    key = training.cache_key("digits", "dvaepp_local", 8, 1, 0, quick=True)
    assert (cache / f"{key}.weights.h5").exists()
    for run in (vae, kmeans):
        assert 0 < run["test_acc"] <= 1 and 0 <= run["test_nmi"] <= 1
        assert run["clusters_used"] <= 10
    assert "| kmeans_codes |" in result["table"]


def test_clustering_on_a_presets_codes(tmp_path):
    """`--code-preset` clusters a saved model's codes: k-means on them is
    k-means on `model.encode`'s codes, the same for every seed."""
    import keras
    import numpy as np

    from keras_dvae import datasets, models, zoo

    data = datasets.load("digits")
    model = models.BernoulliVAE(image_shape=(64,), num_latents=12, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(data.x_train, epochs=2, batch_size=100, verbose=0)
    zoo.export(model, tmp_path / "tiny", {"dataset": "digits", "metrics": {}})
    result = clustering.main(
        ["--quick", "--dataset", "digits", "--seeds", "0", "1"]
        + ["--methods", "categorical_vae_codes", "kmeans_codes"]
        + ["--code-preset", str(tmp_path / "tiny"), "--out", str(tmp_path / "c")]
    )
    runs = result["results"]["kmeans_codes"]["runs"]
    assert runs[0]["training"]["code_model"] is runs[1]["training"]["code_model"]
    codes = model.encode(data.x_train)[0]
    fitted = clustering.baselines.kmeans(codes, 10, n_init=1, seed=1)
    expected = clustering.scores(
        data, fitted.labels_, fitted.predict(model.encode(data.x_test)[0])
    )
    for key in ("train_acc", "test_acc", "test_nmi"):
        np.testing.assert_allclose(runs[1][key], expected[key], atol=1e-5)
    vae = result["results"]["categorical_vae_codes"]["runs"][0]
    assert 0 < vae["test_acc"] <= 1 and vae["clusters_used"] <= 10


@pytest.mark.backend_independent  # argparse rejects it before any Keras
def test_bad_method_exits():
    with pytest.raises(SystemExit):
        semantic_hashing.main(["--quick", "--dataset", "digits", "--methods", "x"])


def test_semantic_hashing_with_a_preset(tmp_path):
    """`--preset` hashes with a saved model's own codes, at its own length."""
    import keras
    import numpy as np

    from keras_dvae import datasets, models, zoo

    data = datasets.load("digits")
    model = models.BernoulliVAE(image_shape=(64,), num_latents=12, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(data.x_train, epochs=2, batch_size=100, verbose=0)
    zoo.export(model, tmp_path / "tiny", {"dataset": "digits", "metrics": {}})
    out = tmp_path / "hashing.json"
    result = semantic_hashing.main(
        ["--dataset", "digits", "--methods", "--preset", str(tmp_path / "tiny")]
        + ["--out", str(out)]
    )
    entry = json.loads(out.read_text())["results"][f"preset:{tmp_path / 'tiny'}"]
    assert list(entry) == ["12"]
    # The same numbers as the metric on the model's own codes.
    codes = [model.encode(x)[0] for x in (data.x_train, data.x_test)]
    expected = semantic_hashing.metrics.retrieval_metrics(
        codes[1], data.y_test.astype(np.int64), codes[0], data.y_train, k=100
    )
    assert entry["12"]["map"] == pytest.approx(expected["map"], abs=1e-5)
    assert "| preset:" in result["table"]


def test_semantic_hashing_preset_of_another_size(tmp_path):
    from keras_dvae import models, zoo

    model = models.BernoulliVAE(image_shape=(784,), num_latents=8, seed=0)
    zoo.export(model, tmp_path / "wide", {"dataset": "mnist", "metrics": {}})
    with pytest.raises(ValueError, match="784 values an image"):
        semantic_hashing.main(
            ["--dataset", "digits", "--methods", "--preset", str(tmp_path / "wide")]
        )

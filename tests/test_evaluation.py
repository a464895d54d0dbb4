"""evaluation.log_likelihood_report: log Z bookkeeping of the IWAE estimate."""

import numpy as np

from keras_dvae import evaluation, models


def _tiny_dvaepp():
    return models.DVAEPP(
        image_shape=(6,),
        num_latents=4,
        hidden_units=(8,),
        num_chains=20,
        gibbs_sweeps=2,
        seed=0,
    )


def test_log_z_shifts_the_likelihood_one_for_one():
    model = _tiny_dvaepp()
    x = (np.random.default_rng(0).random((12, 6)) > 0.5).astype("float32")
    exact = evaluation.log_likelihood_report(model, x, num_samples=2000)
    assert exact.log_partition["method"] == "exact"
    log_z = exact.log_partition["log_z"]
    # 2 + 2 units: log Z of a zero-initialised RBM is 4 log 2.
    np.testing.assert_allclose(log_z, 4 * np.log(2.0), rtol=1e-6)
    shifted = evaluation.log_likelihood_report(
        model, x, num_samples=2000, log_partition=log_z + 1.5
    )
    assert shifted.log_partition == {"log_z": log_z + 1.5, "method": "given"}
    # log p(z) = −E(z) − log Z: every estimate moves by −1.5 (K = 2000 over
    # 16 codes is essentially exact, so Monte Carlo noise is small).
    np.testing.assert_allclose(shifted.mean, exact.mean - 1.5, atol=0.02)
    summary = shifted.as_dict()
    assert "per_example" not in summary and summary["num_examples"] == 12


def test_reverse_ais_is_reported_beside_the_forward_estimate():
    model = _tiny_dvaepp()
    x = (np.random.default_rng(1).random((5, 6)) > 0.5).astype("float32")
    report = evaluation.log_likelihood_report(
        model,
        x,
        num_samples=100,
        log_partition="ais",
        reverse_ais=True,
        ais_kwargs={"num_betas": 200, "num_chains": 200},
    )
    info = report.log_partition
    assert info["method"] == "ais"
    # Zero-initialised RBM: both runs land within a few hundredths of
    # 4 log 2 (the base model is fitted to noisy chain statistics).
    np.testing.assert_allclose(info["log_z"], 4 * np.log(2.0), atol=0.05)
    np.testing.assert_allclose(info["reverse_log_z"], 4 * np.log(2.0), atol=0.05)
    # The reverse mean is the forward one moved by the log Z difference.
    np.testing.assert_allclose(
        info["mean_reverse"], report.mean + info["log_z"] - info["reverse_log_z"]
    )


def test_models_without_a_partition_function_report_none():
    model = models.BernoulliVAE(image_shape=(6,), num_latents=3, hidden_units=(8,))
    x = (np.random.default_rng(2).random((4, 6)) > 0.5).astype("float32")
    report = evaluation.log_likelihood_report(model, x, num_samples=10)
    assert report.log_partition is None
    assert report.per_example.shape == (4,)


def test_log_likelihood_shows_progress_in_a_terminal_only(capsys, monkeypatch):
    import sys

    import pytest

    model = _tiny_dvaepp()
    x = (np.random.default_rng(2).random((3, 6)) > 0.5).astype("float32")
    model.log_likelihood(x, num_samples=20)  # pytest's capture: not a terminal
    assert "sample" not in capsys.readouterr().out
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    model.log_likelihood(x, num_samples=20, chunk_size=5)
    out = capsys.readouterr().out
    assert "60/60" in out  # 3 examples × 20 samples, counted per chunk
    model.log_likelihood(x, num_samples=20, verbose=0)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="verbose"):
        model.log_likelihood(x, num_samples=20, verbose="loud")

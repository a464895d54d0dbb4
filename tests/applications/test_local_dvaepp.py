"""`LocalDVAEPP`: DVAE++ with local Gaussian latents below the code."""

import keras
import numpy as np
import pytest

from applications import data as app_data
from applications.local_dvaepp import LocalDVAEPP


def test_local_latents_add_their_kl_and_the_codes_survive_saving(tmp_path):
    x = app_data.load("digits").x_train[:200]
    model = LocalDVAEPP(
        (64,),
        num_latents=4,
        hidden_units=(16,),
        local_units=3,
        num_chains=4,
        gibbs_sweeps=1,
        seed=0,
    )
    model.compile(optimizer="adam")
    history = model.fit(x, epochs=1, batch_size=50, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    # The decoder's Gaussian layer: KL(q(h|x, ζ) ‖ p(h|ζ)) > 0 is in the loss.
    decoder_kl = keras.ops.convert_to_numpy(model(x[:20])["decoder_kl"])
    assert decoder_kl.shape == (20,) and np.all(decoder_kl > 0)
    # The code is the encoder's alone: 4 bits, equal to `encode`.
    codes = model.feature_extractor("codes").predict(x, verbose=0)
    assert codes.shape == (200, 4) and set(np.unique(codes)) <= {0.0, 1.0}
    np.testing.assert_array_equal(codes, model.encode(x)[0])
    model.save(tmp_path / "local.keras")
    loaded = keras.saving.load_model(tmp_path / "local.keras")
    assert isinstance(loaded, LocalDVAEPP) and loaded.local_units == 3
    np.testing.assert_array_equal(
        loaded.feature_extractor("codes").predict(x, verbose=0), codes
    )


@pytest.mark.backend_independent  # raised before any Keras computation
def test_local_dvaepp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="local_units=0"):
        LocalDVAEPP((16,), num_latents=4, local_units=0)
    with pytest.raises(ValueError, match="image_shape"):
        LocalDVAEPP((4, 4, 1), num_latents=4)

"""LogPartitionUpdate: log Z current from the first epoch's metrics on."""

import keras
import numpy as np

from keras_dvae import callbacks, models
from tests.helpers import to_numpy


def test_log_z_is_estimated_before_the_first_epoch():
    # Without it the first epoch's elbo and kl use the initial log Z = 0
    # (a KL of −20 nats on the digits demo's first log line).
    model = models.DVAEPP(
        image_shape=(16,), num_latents=8, hidden_units=(8,), num_chains=4, seed=0
    )
    x = (np.random.default_rng(0).random((32, 16)) < 0.4).astype("float32")
    model.compile(optimizer="adam")
    model.fit(x, batch_size=32, epochs=1, verbose=0)  # log Z now stale
    assert not model.prior.log_partition_info
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["info"] = model.prior.log_partition_info
            seen["log_z"] = float(to_numpy(model.prior.log_partition))
            seen["exact"] = model.prior.exact_log_partition()

    model.fit(
        x,
        batch_size=32,
        epochs=1,
        verbose=0,
        callbacks=[callbacks.LogPartitionUpdate(), Probe()],
    )
    assert seen["info"] and seen["info"]["method"] == "exact"
    np.testing.assert_allclose(seen["log_z"], seen["exact"], rtol=1e-5)

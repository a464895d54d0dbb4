"""Keeps an RBM-prior model's log Z estimate current during training."""

import keras

from keras_dvae.utils import checks


class LogPartitionUpdate(keras.callbacks.Callback):
    """Re-estimates log Z of the model's RBM prior every `every` epochs.

    RBM-prior models (`DVAEPP`, `DVAE`) report their `elbo` and `kl`
    metrics with the log Z held in their `log_partition` variable, which
    `fit` does not update (its gradient comes from the PCD chains, its value
    needs enumeration or AIS). This callback calls
    `model.estimate_log_partition(method, **kwargs)` at the end of every
    `every`-th epoch, so the next epoch's metrics are normalised with the
    estimate for the previous epoch's end. Cheap with exact enumeration
    (RBMs up to ~20 units a side); with AIS it costs seconds to minutes.

    Args:
        every: int ≥ 1, epochs between estimates.
        method: "auto", "exact" or "ais" (see `DVAEPP.estimate_log_partition`).
        **kwargs: passed to `estimate_log_partition` (e.g. AIS `num_betas`).

    Example:

    >>> callback = LogPartitionUpdate(every=5)
    """

    def __init__(self, every=1, method="auto", **kwargs):
        super().__init__()
        self.every = checks.check_positive_int("every", every)
        self.method = method
        self.kwargs = kwargs

    def on_train_begin(self, logs=None):
        if not hasattr(self.model, "estimate_log_partition"):
            raise ValueError(
                "LogPartitionUpdate needs a model with an RBM prior "
                "(`estimate_log_partition`). "
                f"Received: model={type(self.model).__name__}"
            )

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        # JAX keeps the training state outside the variables during `fit`.
        if hasattr(self.model, "jax_state_sync"):
            self.model.jax_state_sync()
        self.model.estimate_log_partition(self.method, **self.kwargs)

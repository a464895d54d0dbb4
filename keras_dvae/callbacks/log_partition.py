"""Keeps an RBM-prior model's log Z estimate current during training."""

import keras

from keras_dvae.utils import checks


class LogPartitionUpdate(keras.callbacks.Callback):
    """Re-estimates log Z of the model's RBM prior every `every` epochs
    (and at the start of training if the estimate is stale).

    `fit` never updates the log Z that the `elbo` and `kl` metrics use.
    Cheap with exact enumeration (up to ~20 units a side); AIS costs
    seconds to minutes.

    Args:
        every: int ≥ 1, epochs between estimates.
        method: "auto", "exact" or "ais" (see `RBMPrior.estimate_log_partition`).
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
        prior = getattr(self.model, "prior", None)
        if not getattr(prior, "has_log_partition", False):
            raise ValueError(
                "LogPartitionUpdate needs a model whose prior has a log Z (an "
                f"RBM). Received: model={type(self.model).__name__} with prior "
                f"{type(prior).__name__}"
            )
        # A current estimate before the first epoch, so that its elbo and
        # kl are normalised too (not the stale or initial log Z = 0).
        if not prior.log_partition_info:
            prior.estimate_log_partition(self.method, **self.kwargs)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        # JAX keeps the training state outside the variables during `fit`.
        if hasattr(self.model, "jax_state_sync"):
            self.model.jax_state_sync()
        self.model.prior.estimate_log_partition(self.method, **self.kwargs)

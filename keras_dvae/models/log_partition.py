"""log Z bookkeeping shared by the models with an RBM prior."""

import time

import numpy as np
from keras import ops

# Largest smaller RBM side for which "auto" enumerates log Z exactly.
EXACT_LIMIT = 20


class LogPartitionMixin:
    """Keeps the RBM prior's log Z estimate of a model current.

    The model owns `self.prior` (an `RBMPrior`) and a non-trainable scalar
    variable `self.log_partition`; this mixin estimates log Z into it
    (`estimate_log_partition`), adds its value with the PCD gradient to the
    loss (`_log_partition_term`), and marks it stale whenever the prior may
    have changed (`fit`, `load_weights`), so that `evaluate` and
    `log_likelihood` re-estimate it first.
    """

    log_partition_info = None

    def _has_rbm_prior(self):
        return True

    def _log_partition_term(self, training):
        """log Z's value (the estimate) with the PCD gradient attached."""
        surrogate = self.prior.log_partition_surrogate(training=training)
        return (
            ops.cast(self.log_partition, surrogate.dtype)
            + surrogate
            - ops.stop_gradient(surrogate)
        )

    def estimate_log_partition(self, method="auto", verbose=0, **ais_kwargs):
        """Estimates log Z of the RBM prior and stores it in `log_partition`.

        Args:
            method: "exact" (enumeration, smaller side ≤ 24 units), "ais"
                (`RBMPrior.ais_log_partition`, forward), or "auto" (exact
                up to 20 units a side, else AIS).
            verbose: progress bar for AIS.
            **ais_kwargs: passed to `RBMPrior.ais_log_partition`
                (`num_betas`, `num_chains`, ...).

        Returns:
            A dict: log_z, method, and for AIS log_z_lower / log_z_upper
            (±3 standard errors of the mean weight), num_betas, num_chains,
            and seconds.
        """
        if method not in ("auto", "exact", "ais"):
            raise ValueError(
                "`method` must be 'auto', 'exact' or 'ais'. "
                f"Received: method={method!r}"
            )
        if not self._has_rbm_prior():
            info = {"log_z": 0.0, "method": "normalised prior", "seconds": 0.0}
            self.log_partition_info = info
            return info
        if method == "auto":
            smaller = min(self.prior.num_z1, self.prior.num_z2)
            method = "exact" if smaller <= EXACT_LIMIT else "ais"
        start = time.time()
        if method == "exact":
            info = {"log_z": self.prior.exact_log_partition(), "method": "exact"}
        else:
            estimate = self.prior.ais_log_partition(verbose=verbose, **ais_kwargs)
            info = {
                "log_z": float(estimate.log_z),
                "method": "ais",
                "log_z_lower": float(estimate.log_z_lower),
                "log_z_upper": float(estimate.log_z_upper),
                "num_betas": int(estimate.num_betas),
                "num_chains": int(estimate.num_chains),
            }
        info["seconds"] = round(time.time() - start, 2)
        self.log_partition.assign(np.float32(info["log_z"]))
        self.log_partition_info = info
        return info

    def _prepare_log_likelihood(self):
        if self.log_partition_info is None:
            self.estimate_log_partition()

    def fit(self, *args, **kwargs):
        history = super().fit(*args, **kwargs)
        self.log_partition_info = None  # the prior changed: log Z is stale
        return history

    def evaluate(self, x=None, *args, **kwargs):
        self.check_data(x)  # before log Z, which may take minutes of AIS
        self._prepare_log_likelihood()
        return super().evaluate(x, *args, **kwargs)

    def load_weights(self, *args, **kwargs):
        result = super().load_weights(*args, **kwargs)
        self.log_partition_info = None
        return result

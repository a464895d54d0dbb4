"""Held-out evaluation: importance-weighted log-likelihood with its log Z.

>>> import numpy as np
>>> from keras_dvae import evaluation, models
>>> model = models.BernoulliVAE(image_shape=(16,), num_latents=4, hidden_units=(8,))
>>> x = (np.random.rand(20, 16) > 0.5).astype("float32")
>>> report = evaluation.log_likelihood_report(model, x, num_samples=50)
>>> bool(report.mean < 0)
True
"""

import dataclasses
import time

import numpy as np

from keras_dvae.models import data as data_lib
from keras_dvae.utils import checks


@dataclasses.dataclass
class LikelihoodReport:
    """An importance-weighted test log-likelihood and how it was obtained.

    Attributes:
        mean: mean log p(x) over the examples, in nats.
        standard_error: standard error of that mean over examples.
        per_example: float64 array of the per-example estimates.
        num_samples: K, importance samples per example.
        num_examples: examples evaluated.
        log_partition: for an RBM prior, the dict of
            `estimate_log_partition`; with reverse AIS, also `reverse_log_z`
            and `mean_reverse`: forward AIS under-estimates log Z on average
            and reverse AIS over-estimates it when it starts from exact RBM
            samples. It starts from Gibbs chains (`ais_log_partition`'s
            `target_sweeps`), so the two are a bracket in practice, not a
            strict bound: their agreement is a consistency check.
        seconds: wall time of the evaluation.
    """

    mean: float
    standard_error: float
    per_example: np.ndarray
    num_samples: int
    num_examples: int
    log_partition: dict | None
    seconds: float

    def as_dict(self):
        """A JSON-ready summary (without the per-example array)."""
        result = dataclasses.asdict(self)
        del result["per_example"]
        return result


def log_likelihood_report(
    model,
    x,
    num_samples=4000,
    log_partition="auto",
    reverse_ais=False,
    ais_kwargs=None,
    verbose="auto",
    **kwargs,
):
    """`model.log_likelihood` with its log Z, as a `LikelihoodReport`.

    Args:
        model: a `keras_dvae.models.DiscreteVAE`.
        x: data as `model.log_likelihood` takes them, at least one example.
        num_samples: K.
        log_partition: for RBM priors, "auto", "exact" or "ais" (see
            `RBMPrior.estimate_log_partition`), or a float to use as log Z.
        reverse_ais: also report the likelihood under reverse AIS.
        ais_kwargs: dict passed to the AIS runs (`num_betas`, `num_chains`).
        verbose: progress bars (1), none (0), or "auto": 1 when stdout is
            a terminal.
        **kwargs: passed to `model.log_likelihood` (`batch_size`, `chunk_size`).

    Raises:
        ValueError: `x` holds no example or data the model cannot score,
            or a bad argument.
    """
    start = time.time()
    verbose = checks.verbosity(verbose)
    num_samples = checks.check_positive_int("num_samples", num_samples)
    # Checked before any log Z estimate, which can take minutes: a mean over
    # no example is no report.
    x = data_lib.collect(x, model.image_shape, None, "x")
    model.check_data(x, purpose="log_likelihood_report")
    ais_kwargs = dict(ais_kwargs or {})
    prior = model.prior
    info = None
    if prior.has_log_partition:
        if isinstance(log_partition, (int, float)):
            info = dict(prior.set_log_partition(log_partition))
        else:
            # AIS arguments are ignored when log Z is enumerated.
            info = dict(
                prior.estimate_log_partition(
                    log_partition, verbose=verbose, **ais_kwargs
                )
            )
    elif reverse_ais:
        raise ValueError(
            f"reverse_ais=True needs a prior with a log Z to estimate; this "
            f"model's {type(prior).__name__} is normalised (its likelihoods "
            f"need no log Z). Received: reverse_ais={reverse_ais}"
        )
    ll = np.asarray(
        model.log_likelihood(x, num_samples=num_samples, verbose=verbose, **kwargs)
    )
    if info is not None and reverse_ais:
        reverse = prior.ais_log_partition(reverse=True, **ais_kwargs)
        info["reverse_log_z"] = float(reverse.log_z)
        info["reverse_log_z_bounds"] = [
            float(reverse.log_z_lower),
            float(reverse.log_z_upper),
        ]
        info["mean_reverse"] = float(ll.mean() + info["log_z"] - reverse.log_z)
    return LikelihoodReport(
        mean=float(ll.mean()),
        standard_error=float(ll.std(ddof=1) / np.sqrt(len(ll))) if len(ll) > 1 else 0.0,
        per_example=ll,
        num_samples=int(num_samples),
        num_examples=len(ll),
        log_partition=info,
        seconds=round(time.time() - start, 2),
    )


__all__ = ["LikelihoodReport", "log_likelihood_report"]

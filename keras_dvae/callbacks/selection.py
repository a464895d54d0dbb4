"""Model selection: keep the weights of the best validation score."""

import os
import random

import keras
import numpy as np

from keras_dvae import evaluation
from keras_dvae.utils import checks, files
from keras_dvae.utils.generations import Generations

#: The JSON file of a `BestValidation`'s rows, in its folder.
ROWS_FILE = "validation.json"


class BestValidation(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the best validation log-likelihood.

    The papers' model selection: the fully connected RBM-prior models of
    DVAE, DVAE++ and DVAE# are kept at their best validation score at
    K = 100, then tested at K = 4000. Every `every` epochs, and after the
    last, this callback scores `x` with `evaluation.log_likelihood_report`
    (K = `num_samples`; log Z by `log_partition`, for an RBM prior) and,
    when the figure beats every earlier one, stores the model's variables
    as the best. `load_best` puts them back in the model after `fit`.

    The evaluation draws from the model's seed generators and sets the
    prior's log Z; afterwards every variable that is not trainable (seed
    states, PCD chains, log Z, the step counter) and Python's and NumPy's
    global random states are restored, so training follows the same
    trajectory with this callback as without it.

    Its state lives in `folder`: `validation.json` (one row per evaluated
    epoch: epoch, step, mean, standard error, log Z) and the best epoch's
    variables as a `Generations` store of one (`best-NNNNNN.weights.h5`
    committed by `best-NNNNNN.json`, the row inside), each written
    atomically. A rerun of an interrupted `fit` keeps the rows; an epoch
    trained again replaces its row (the same epoch: a resumed run is the
    uninterrupted one, `training.RunBackup`).

    Args:
        x: the validation data, as `model.log_likelihood` takes it.
        folder: where the state is kept (made on the first evaluation).
        every: int ≥ 1, epochs between evaluations.
        num_samples: K.
        log_partition: see `evaluation.log_likelihood_report`.
        ais_kwargs: AIS arguments for the log Z estimates.

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> from keras_dvae import models
    >>> model = models.BernoulliVAE(image_shape=(16,), num_latents=4,
    ...                             hidden_units=(8,))
    >>> model.compile(optimizer="adam")
    >>> x = (np.random.default_rng(0).random((40, 16)) > 0.5).astype("float32")
    >>> best = BestValidation(x[:20], tempfile.mkdtemp(), every=1, num_samples=5)
    >>> _ = model.fit(x[20:], epochs=2, batch_size=10, verbose=0, callbacks=[best])
    >>> [row["epoch"] for row in best.rows], best.best["epoch"] in (1, 2)
    ([1, 2], True)
    >>> best.load_best(model)["epoch"] == best.best["epoch"]
    True
    """

    def __init__(
        self,
        x,
        folder,
        every=50,
        num_samples=100,
        log_partition="auto",
        ais_kwargs=None,
    ):
        super().__init__()
        if x is None or len(x) == 0:
            raise ValueError(
                "`x` must hold at least one validation example. Received: "
                f"x={'None' if x is None else f'an array of shape {np.shape(x)}'}"
            )
        self.x = x
        self.folder = os.fspath(folder)
        self.every = checks.check_positive_int("every", every)
        self.num_samples = checks.check_positive_int("num_samples", num_samples)
        self.log_partition = log_partition
        self.ais_kwargs = dict(ais_kwargs or {})
        self.store = Generations(self.folder, prefix="best", keep=1)
        self.rows = []

    @property
    def best(self):
        """The best row so far (highest mean), or None."""
        return max(self.rows, key=lambda r: r["mean"]) if self.rows else None

    def on_train_begin(self, logs=None):
        files.remove_temporaries(self.folder)
        path = os.path.join(self.folder, ROWS_FILE)
        self.rows = list(files.read_json(path)["rows"]) if os.path.isfile(path) else []
        found = self.store.newest()
        if found is not None:
            # Committed before the rows file was rewritten: a kill in
            # between leaves its row only in the store.
            self._put(found[1]["row"])

    def _put(self, row):
        self.rows = sorted(
            [r for r in self.rows if r["epoch"] != row["epoch"]] + [row],
            key=lambda r: r["epoch"],
        )

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.params.get("epochs"):
            return
        model = self.model
        # JAX keeps the training state outside the variables during `fit`.
        if hasattr(model, "jax_state_sync"):
            model.jax_state_sync()
        kept = [v for v in model.variables if not v.trainable]
        values = [keras.ops.convert_to_numpy(v) for v in kept]
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            report = evaluation.log_likelihood_report(
                model,
                self.x,
                num_samples=self.num_samples,
                log_partition=self.log_partition,
                ais_kwargs=self.ais_kwargs,
                verbose=0,
            )
        finally:
            for variable, value in zip(kept, values, strict=True):
                variable.assign(value)
            random.setstate(python_state)
            np.random.set_state(numpy_state)
        step = getattr(model, "training_step", None)
        row = {
            "epoch": done,
            "step": None if step is None else int(keras.ops.convert_to_numpy(step)),
            "mean": report.mean,
            "standard_error": report.standard_error,
            "log_z": (report.log_partition or {}).get("log_z"),
            "seconds": report.seconds,
        }
        best = self.best
        self._put(row)
        if best is None or row["mean"] > best["mean"] or best["epoch"] == done:
            self.store.save(done, {".weights.h5": model.save_weights}, {"row": row})
        files.write_json(
            os.path.join(self.folder, ROWS_FILE),
            {"num_samples": self.num_samples, "rows": self.rows},
        )

    def load_best(self, model=None):
        """Loads the best epoch's variables into `model` (default: the model
        trained); returns its row.

        Raises:
            ValueError: no evaluation was stored.
        """
        found = self.store.newest()
        if found is None:
            raise ValueError(
                f"No best weights in {self.folder!r}: no validation epoch was "
                "evaluated (is `every` larger than the epochs trained?)."
            )
        _, manifest, paths = found
        (model or self.model).load_weights(paths[".weights.h5"])
        return manifest["row"]

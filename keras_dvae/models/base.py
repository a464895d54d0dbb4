"""The base class of every keras_dvae model: data checks, metrics, IWAE."""

import math
import warnings

import keras
import numpy as np
from keras import ops

from keras_dvae.utils import checks
from keras_dvae.utils.warnings import KerasDVAEWarning

STRUCTURES = {"linear": (), "nonlinear": (200, 200)}


def resolve_structure(structure):
    """ "linear" → (), "nonlinear" → (200, 200); a tuple of ints is kept."""
    if isinstance(structure, str):
        if structure not in STRUCTURES:
            raise ValueError(
                f"`structure` must be one of {sorted(STRUCTURES)} or a tuple of "
                f"hidden-layer sizes. Received: structure={structure!r}"
            )
        return STRUCTURES[structure]
    try:
        return tuple(checks.check_positive_int("structure", int(h)) for h in structure)
    except (TypeError, ValueError):
        raise ValueError(
            f"`structure` must be one of {sorted(STRUCTURES)} or a tuple of "
            f"hidden-layer sizes. Received: structure={structure!r}"
        ) from None


def mlp(hidden_units, units, name, activation="tanh", batch_norm=True, l2=0.0):
    """Dense → [BatchNorm] → activation, per hidden layer, then a linear Dense.

    The papers' "nonlinear" conditionals are two 200-unit tanh layers with
    batch norm; `hidden_units=()` is the "linear" one (a single Dense).
    """
    reg = keras.regularizers.L2(l2) if l2 else None
    layers = []
    for h in hidden_units:
        layers.append(keras.layers.Dense(h, kernel_regularizer=reg))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation(activation))
    layers.append(keras.layers.Dense(units, kernel_regularizer=reg))
    return keras.Sequential(layers, name=name)


class DiscreteVAE(keras.Model):
    """Shared machinery of the discrete VAEs over binary data.

    Subclasses build their networks in `__init__`, return per-example
    tensors (a dict with "reconstruction_logits") from `call`, put the loss
    in `compute_loss` (calling `_track`), and implement `_log_weights(x)`:
    one importance weight log p(x, z) − log q(z|x) per row of `x`, for a
    z drawn from q(z|x) in the discrete limit. `log_likelihood` turns those
    into the importance-weighted estimate.

    Data. Inputs are binary (the decoder is Bernoulli): `fit`, `evaluate`
    and `log_likelihood` reject NumPy data that is not 0/1, has the wrong
    width, or holds NaN, before any step runs. `adapt(x)` centres the
    encoder's input by the training mean and starts the decoder's output
    bias at the logit of the mean pixel, as the reference code does.

    Args:
        input_dim: int, number of binary pixels.
        seed: int or None, seeds the model's samplers.
        **kwargs: base `keras.Model` arguments.
    """

    # Names of the classes whose `from_preset` may return this class's
    # presets too (e.g. a convolutional variant of DVAEPP lists "DVAEPP").
    preset_families = ()

    #: Rows (examples × samples) per compiled chunk of `log_likelihood`.
    _likelihood_rows = 100_000

    def __init__(self, input_dim, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = checks.check_positive_int("input_dim", input_dim)
        if seed is not None:
            checks.check_positive_int("seed", seed, minimum=0)
        self.seed = seed
        self.input_mean = self.add_weight(
            name="input_mean", shape=(input_dim,), initializer="zeros", trainable=False
        )
        self.kl_weight = self.add_weight(
            name="kl_weight", shape=(), initializer="ones", trainable=False
        )
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self._eval_seed = keras.random.SeedGenerator(seed)

    @classmethod
    def from_preset(cls, name, verify=True):
        """Loads a pretrained preset (`keras_dvae.zoo`) of this class.

        Args:
            name: a name from `keras_dvae.zoo.list_presets()`, or a path to a
                preset folder.
            verify: check the weights' sha256 against the preset's metadata.

        Returns:
            The model with its trained weights (an instance of `cls`, or of a
            class that lists `cls.__name__` in its `preset_families`).

        Raises:
            ValueError: an unknown or corrupted preset (see `zoo.load`), or a
                preset of another class.

        Example:

        >>> from keras_dvae import models
        >>> model = models.DVAEPP.from_preset("dvaepp_2nl_mnist_static")
        """
        from keras_dvae import zoo  # zoo imports models: not at module level

        model = zoo.load(name, verify=verify)
        kind = type(model)
        if not isinstance(model, cls) and cls.__name__ not in getattr(
            kind, "preset_families", ()
        ):
            raise ValueError(
                f"Preset {name!r} holds a {kind.__name__}, not a {cls.__name__}: "
                f"load it with {kind.__name__}.from_preset or "
                f"keras_dvae.zoo.load. Received: name={name!r}"
            )
        return model

    # ---------------------------------------------------------------- data

    def check_data(self, x, name="x"):
        """Raises `ValueError` unless `x` is a (n, input_dim) 0/1 array.

        Only concrete data is checked (NumPy arrays, lists, the first batch
        of a `keras.utils.PyDataset`); a `tf.data.Dataset` passes unchecked.
        """
        if isinstance(x, keras.utils.PyDataset):
            if len(x) == 0:
                raise ValueError(f"`{name}` is an empty PyDataset.")
            first = x[0]
            self.check_data(first[0] if isinstance(first, tuple) else first, name)
            return
        if isinstance(x, dict) or not isinstance(x, (np.ndarray, list)):
            return
        array = np.asarray(x)
        if array.ndim != 2 or array.shape[1] != self.input_dim:
            raise ValueError(
                f"`{name}` must have shape (num_examples, {self.input_dim}) for "
                f"this model (input_dim={self.input_dim}). Received: {name} with "
                f"shape {array.shape}"
            )
        if array.dtype.kind not in "biuf":
            raise ValueError(
                f"`{name}` must be numeric. Received: {name} with dtype {array.dtype}"
            )
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(
                f"`{name}` holds {int(np.sum(~np.isfinite(array)))} NaN or Inf "
                f"value(s). Received: {name} with shape {array.shape}"
            )
        bad = (array != 0) & (array != 1)
        if np.any(bad):
            raise ValueError(
                f"`{name}` must be binary (0/1) for the Bernoulli decoder; "
                f"{int(bad.sum())} value(s) are not, e.g. {array[bad].flat[0]!r}. "
                "Binarise it (datasets.load gives binary data, or dynamic "
                "binarisation via datasets.BinarizedSequence). "
                f"Received: {name} with shape {array.shape}"
            )

    def adapt(self, x):
        """Centres inputs by the mean of `x` and sets the output bias to its logit.

        Call before `fit` with the training data (DVAE#/DVAE++ reference
        code: inputs centred by the training mean; output bias at
        logit(mean), clipped to [0.001, 0.999]).
        """
        self.check_data(x)
        mean = np.asarray(x, "float64").mean(axis=0)
        self.input_mean.assign(mean.astype("float32"))
        p = np.clip(mean, 1e-3, 1 - 1e-3)
        self.output_bias().assign(np.log(p / (1 - p)).astype("float32"))
        return self

    def output_bias(self):
        """The bias variable of the decoder's output layer."""
        return self.decoder.layers[-1].bias

    def fit(self, x=None, *args, **kwargs):
        self.check_data(x)
        validation = kwargs.get("validation_data")
        if isinstance(validation, (tuple, list)) and len(validation):
            self.check_data(validation[0], "validation_data")
        elif validation is not None:
            self.check_data(validation, "validation_data")
        return super().fit(x, *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        self.check_data(x)
        return super().evaluate(x, *args, **kwargs)

    # ------------------------------------------------------------- metrics

    def _track(self, reconstruction, kl):
        self.elbo_tracker.update_state(-(reconstruction + kl))
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)

    @staticmethod
    def bernoulli_nll(x, logits):
        """−log p(x|·) of a factorial Bernoulli decoder, summed over pixels."""
        x = ops.cast(ops.broadcast_to(x, ops.shape(logits)), logits.dtype)
        return ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=-1)

    # ---------------------------------------------------------- likelihood

    def _log_weights(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement _log_weights")

    def _prepare_log_likelihood(self):
        """Hook run before `log_likelihood` (the RBM models estimate log Z)."""

    def log_likelihood(
        self, x, num_samples=4000, batch_size=None, chunk_size=None, verbose=0
    ):
        """Importance-weighted log p(x) in the discrete limit, per example.

            log p(x) ≈ log (1/K) Σ_k p(x, z_k) / q(z_k|x),   z_k ~ q(z|x),

        with z binary (or one-hot), as the papers evaluate. The log-sum-exp
        runs over chunks of samples in float64, so K = 4000 needs only
        `batch_size × chunk_size` rows in memory at a time; each chunk is one
        compiled call. The estimate is a stochastic lower bound whose
        expectation rises to log p(x) as K grows (Burda et al. 2016). For an
        RBM prior it uses the model's current log Z estimate
        (`estimate_log_partition`).

        Args:
            x: binary data, shape (n, input_dim).
            num_samples: K, importance samples per example.
            batch_size: examples per chunk (default: enough for
                `_likelihood_rows` rows, 10⁵ for the MLP models).
            chunk_size: samples per chunk (default min(K, 1000)).
            verbose: 1 for a progress bar.

        Returns:
            NumPy float64 array (n,) of estimates in nats.
        """
        num_samples = checks.check_positive_int("num_samples", num_samples)
        self.check_data(x)
        x = np.asarray(x, "float32")
        chunk_size = min(num_samples, chunk_size or 1000)
        chunk_size = checks.check_positive_int("chunk_size", chunk_size)
        if batch_size is None:
            batch_size = max(1, self._likelihood_rows // chunk_size)
        batch_size = checks.check_positive_int("batch_size", batch_size)
        self._prepare_log_likelihood()
        weights = self._log_weight_model()
        progress = keras.utils.Progbar(len(x), verbose=verbose, unit_name="example")
        results = []
        for start in range(0, len(x), batch_size):
            batch = x[start : start + batch_size]
            n = len(batch)
            total = np.full(n, -np.inf)
            for offset in range(0, num_samples, chunk_size):
                k = min(chunk_size, num_samples - offset)
                rows = np.repeat(batch, k, axis=0)
                log_w = np.asarray(
                    ops.convert_to_numpy(weights.predict_on_batch(rows)), "float64"
                ).reshape(n, k)
                total = np.logaddexp(total, _logsumexp(log_w))
            results.append(total - math.log(num_samples))
            progress.add(n)
        result = np.concatenate(results)
        if not np.all(np.isfinite(result)):
            warnings.warn(
                f"{int(np.sum(~np.isfinite(result)))} log-likelihood estimate(s) "
                "are not finite.",
                KerasDVAEWarning,
                stacklevel=2,
            )
        return result

    def _log_weight_model(self):
        """The compiled `_LogWeights` wrapper, made once per model.

        Stored outside Keras's attribute tracking: the wrapper holds the
        model, so a tracked attribute would make the model its own layer.
        Reusing it keeps the compiled predict function (about 1 s per
        `log_likelihood` call on JAX otherwise).
        """
        model = self.__dict__.get("_log_weights_cache")
        if model is None:
            model = _LogWeights(self)
            object.__setattr__(self, "_log_weights_cache", model)
        return model

    def get_config(self):
        config = super().get_config()
        config.update({"input_dim": self.input_dim, "seed": self.seed})
        return config


def _logsumexp(a):
    m = np.max(a, axis=1)
    safe = np.where(np.isfinite(m), m, 0.0)
    return safe + np.log(np.sum(np.exp(a - safe[:, None]), axis=1))


class _LogWeights(keras.Model):
    """A thin model whose compiled `predict_on_batch` runs `vae._log_weights`.

    Keras compiles `predict_on_batch` per backend (jit on JAX, tf.function on
    TensorFlow) and carries the seed generators' state across calls, so
    every chunk draws fresh samples.
    """

    def __init__(self, vae):
        # An explicit name: the automatic one, "__log_weights", is not a
        # valid TensorFlow name scope.
        super().__init__(name="log_weights")
        self.vae = vae
        self.built = True

    def call(self, x):
        return self.vae._log_weights(x)

"""The one VAE model: an encoder, a prior, a decoder and a likelihood."""

import inspect
import math
import types
import warnings

import keras
import numpy as np
from keras import ops

from keras_dvae import estimators as estimators_lib
from keras_dvae import schedules as schedules_lib
from keras_dvae import smoothing as smoothing_lib
from keras_dvae.distributions.kl import kl_divergence
from keras_dvae.models import data as data_lib
from keras_dvae.networks.features import OUTPUTS as FEATURE_OUTPUTS
from keras_dvae.networks.features import EncoderFeatures
from keras_dvae.networks.hierarchical_encoder import deserialize_part
from keras_dvae.utils import checks
from keras_dvae.utils.warnings import KerasDVAEWarning

# Filled by `keras_dvae.zoo` on import, so that models never import the zoo.
_PRESET_STORE = {}


def register_preset_store(presets_of, load, export):
    """Called by `keras_dvae.zoo`: the functions behind `from_preset` & co."""
    _PRESET_STORE.update(presets_of=presets_of, load=load, export=export)


def _preset_store(name):
    if name not in _PRESET_STORE:
        raise RuntimeError("No preset store: import keras_dvae.zoo first.")
    return _PRESET_STORE[name]


# Rows of a dataset that `fit` reads to adapt an untrained model.
AUTO_ADAPT_ROWS = 10_000

_PARTS = ("encoder", "prior", "decoder", "likelihood", "estimator")


def _attribute(argument):
    """The attribute of a named constructor's argument: its name, or
    `<name>_kind` for one named like a part (ConvDVAEPP's `prior="rbm"`)."""
    return f"{argument}_kind" if argument in _PARTS else argument


def _config_value(value):
    """An argument as a config holds it: lists for tuples, configs for objects."""
    if isinstance(value, smoothing_lib.Smoothing):
        return smoothing_lib.serialize(value)
    if isinstance(value, (tuple, list)):
        return list(value)
    if isinstance(value, keras.layers.Layer):  # e.g. an estimator instance
        return keras.saving.serialize_keras_object(value)
    if callable(value):  # an activation function
        return keras.activations.serialize(value)
    return value


def check_image_shape(image_shape):
    """`image_shape` as a tuple of positive ints ((D,) or (H, W, C)); an int is (D,)."""
    if isinstance(image_shape, (int, np.integer)) and not isinstance(image_shape, bool):
        image_shape = (int(image_shape),)
    try:
        shape = tuple(int(s) for s in image_shape)
        ok = len(shape) in (1, 3) and min(shape) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "`image_shape` must be (num_pixels,) or (height, width, channels) of "
            f"positive ints. Received: image_shape={image_shape!r}"
        )
    return shape


@keras.saving.register_keras_serializable(package="keras_dvae")
class DiscreteVAE(keras.Model):
    """A VAE assembled from parts, trained with `compile()` + `fit()`.

    The parts are Keras layers: `encoder` (a `networks.HierarchicalEncoder`,
    q(z|x) = Π_g q(z_g | x, ζ_<g)), `prior` (a `priors.Prior`; the KL is
    `distributions.kl_divergence(posterior, prior)`), `decoder` (an
    `MLPDecoder` or `TopDownDecoder`, which reports the KL and log-densities
    of its own latents) and `likelihood`. The loss is

        mean(−log p(x|ζ) + kl_weight · (KL + decoder KL)) + λ/2 Σ w²

    over every kernel (`weight_decay`). With an `estimator` part
    (`keras_dvae.estimators`: REINFORCE, DisARM, REBAR, RELAX, VIMCO) the
    codes are hard in training: the estimator draws them, decodes them and
    gives the encoder its gradient estimate (the KL stays analytic, except
    in VIMCO's multi-sample bound).
    In evaluation the latent layers return discrete codes, so every
    reported figure is that of the discrete model.

    Data (`fit`, `evaluate`, `log_likelihood`, `encode`, `reconstruct`,
    `adapt`) are arrays (n, prod(image_shape)) or (n, *image_shape): 0/1
    pixels (Bernoulli) or integers 0..255 (logistic mixture); the last four
    also take a dataset or an iterable of batches (x or (x, ...)). Codes
    are (n, encoder.num_values) float arrays: 0/1 units, flattened one-hot
    vectors or real values (Normal). Images (`decode`, `reconstruct`,
    `generate`) are flat float arrays in [0, 1]: p(x=1|·), or a sample
    k/255 for 8-bit pixels. Bad data (another width, NaN or Inf, strings,
    values outside the likelihood's range, ragged lists) raise a
    `ValueError` naming the argument before any step (`check_data`); so
    do data of no example where a mean is taken (`fit`, `evaluate`,
    `adapt`), while `log_likelihood`, `encode`, `reconstruct` and `decode`
    give empty results of the usual widths.

    A named constructor (a subclass with its own `__init__`, such as
    `DVAEPP`) maps its arguments onto parts; they become its attributes and
    its config, as Keras's auto-config does.

    Args:
        encoder, prior, decoder, likelihood: the parts (or their configs).
        image_shape: (D,) or (H, W, C), the shape of one example.
        weight_decay: λ ≥ 0 (the reference code's `wd · l2_loss`, 1e-4).
        estimator: None (the latent layer's relaxation) or a
            `estimators.GradientEstimator` (or its name); needs one group
            of latents and a decoder without local latents.
        seed: int or None.
        **kwargs: base `keras.Model` arguments.
    """

    def __new__(cls, *args, **kwargs):
        # Here, not in `__init__`: a named model builds its parts before
        # calling `DiscreteVAE.__init__`, so the refusal names the model.
        checks.check_dtype_policy(cls.__name__, kwargs.get("dtype"))
        instance = super().__new__(cls, *args, **kwargs)
        arguments = None
        if cls.__init__ is not DiscreteVAE.__init__:
            signature = inspect.signature(cls.__init__)
            bound = signature.bind(None, *args, **kwargs)
            bound.apply_defaults()
            # Lists as tuples, so that a model and its from_config copy agree.
            arguments = {
                name: tuple(value) if isinstance(value, list) else value
                for name, value in list(bound.arguments.items())[1:]
                if signature.parameters[name].kind is not inspect.Parameter.VAR_KEYWORD
            }
        object.__setattr__(instance, "_arguments", arguments)
        return instance

    def __init__(
        self,
        encoder,
        prior,
        decoder,
        likelihood,
        image_shape,
        weight_decay=0.0,
        estimator=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (self._arguments or {}).items():
            setattr(self, _attribute(name), value)
        self.image_shape = check_image_shape(image_shape)
        self.input_dim = math.prod(self.image_shape)
        if seed is not None:
            checks.check_positive_int("seed", seed, minimum=0)
        self.seed = seed
        if (
            isinstance(weight_decay, bool)
            or not isinstance(weight_decay, (int, float))
            or not math.isfinite(weight_decay)
            or weight_decay < 0
        ):
            raise ValueError(
                "`weight_decay` must be a finite number >= 0. "
                f"Received: weight_decay={weight_decay!r}"
            )
        self.weight_decay = float(weight_decay)
        self.encoder = deserialize_part(encoder)
        self.prior = deserialize_part(prior)
        self.decoder = deserialize_part(decoder)
        self.likelihood = deserialize_part(likelihood)
        self.estimator = None
        if estimator is not None:
            self.estimator = estimators_lib.get(deserialize_part(estimator))
        self._check_estimator()
        if self.prior.num_latents != self.encoder.num_latents:
            raise ValueError(
                f"The prior covers {self.prior.num_latents} latents but the encoder "
                f"produces {self.encoder.num_latents}. Received: prior="
                f"{type(self.prior).__name__}, encoder.num_latents="
                f"{self.encoder.num_latents}"
            )
        self.kl_weight = self.add_weight(
            name="kl_weight", shape=(), initializer="ones", trainable=False
        )
        # Advanced by every training `call`; drives `schedules`. Saved with
        # the weights, so a resumed run or a preset continues its schedules.
        self.training_step = self.add_weight(
            name="training_step", shape=(), initializer="zeros", trainable=False
        )
        object.__setattr__(self, "_schedules", {})  # not tracked state
        self.elbo_tracker = keras.metrics.Mean(name="elbo")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.build((None, self.input_dim))

    def build(self, input_shape=None):
        if self.built:
            return
        self.encoder.build((None, self.input_dim))
        self.decoder.build((None, self.encoder.num_values))
        self.likelihood.build()
        if self.estimator is not None:
            self.estimator.build((None, self.input_dim), self.encoder.num_values)
        self.built = True

    def _flat(self, x):
        return ops.reshape(x, (-1, self.input_dim))

    def _unit(self, x):
        return ops.cast(self._flat(x), self.compute_dtype) * self.likelihood.scale

    def compile(self, optimizer="auto", schedules=None, **kwargs):
        """`keras.Model.compile`, with the reference optimizer and in-graph `schedules`.

        Args:
            optimizer: as for Keras, or "auto": Adam with learning rate 3e-3
                and ε = 1e-3, the reference recipe's (its learning-rate decay
                needs the run's length: `training.compile_model` adds it).
            schedules: None or a dict mapping "kl_weight", "beta" (every
                smoothing β) or "temperature" (every Gumbel-softmax τ) to a
                `schedules.Schedule` (or its config, or a constant), evaluated
                at `training_step` inside every training step.
            **kwargs: passed to `keras.Model.compile`.

        Example:

        >>> import numpy as np
        >>> from keras_dvae import models, schedules
        >>> model = models.BernoulliVAE(image_shape=(4,), num_latents=2,
        ...                             hidden_units=())
        >>> model.compile("adam", schedules={
        ...     "kl_weight": schedules.Linear(0.0, 1.0, steps=100),
        ...     "beta": schedules.Linear(6.0, 15.0, steps=100)})
        >>> _ = model.fit(np.ones((4, 4), "float32"), batch_size=2, verbose=0)
        >>> round(float(model.kl_weight.numpy()), 4)   # step index 1 of 2
        0.01
        """
        object.__setattr__(self, "_schedules", self._check_schedules(schedules or {}))
        if isinstance(optimizer, str) and optimizer == "auto":
            optimizer = keras.optimizers.Adam(learning_rate=3e-3, epsilon=1e-3)
        super().compile(optimizer=optimizer, **kwargs)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None and self._schedules:
            config["schedules"] = {
                name: schedules_lib.serialize(schedule)
                for name, schedule in self.schedules.items()
            }
        return config

    def compile_from_config(self, config):
        # Keras skips models that override `compile`; ours takes Keras's
        # arguments plus `schedules`, so restore as Keras would.
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built and getattr(self, "optimizer", None) is not None:
            self.optimizer.build(self.trainable_variables)

    @property
    def schedules(self):
        """The compiled schedules, {target name: `Schedule`}."""
        return {name: schedule for name, (schedule, _) in self._schedules.items()}

    def _check_schedules(self, schedules):
        if not isinstance(schedules, dict):
            raise ValueError(
                "`schedules` must be a dict of target name to schedule. "
                f"Received: schedules={schedules!r}"
            )
        result = {}
        for name, schedule in schedules.items():
            targets = self._schedule_targets(name)
            schedule = schedules_lib.get(schedule)
            low = min(float(schedule(0)), float(schedule(1e12)))
            if low < 0 or (low == 0 and name != "kl_weight"):
                bound = (
                    ">= 0"
                    if name == "kl_weight"
                    else "> 0 (a β or τ of 0 divides by zero)"
                )
                raise ValueError(
                    f"The {name} schedule must stay {bound}. "
                    f"Received: schedules[{name!r}]={schedule!r}"
                )
            result[name] = (schedule, targets)
        return result

    def _schedule_targets(self, name):
        if name not in schedules_lib.TARGETS:
            raise ValueError(
                f"Schedules drive one of {schedules_lib.TARGETS}. "
                f"Received: schedules key {name!r}"
            )
        if name == "kl_weight":
            return [self.kl_weight]
        targets = [
            v
            for v in self.non_trainable_variables
            if v.name == name and len(v.shape) == 0
        ]
        if not targets:
            raise ValueError(
                f"This {type(self).__name__} has no {name!r} variable to schedule "
                f"(its latent layers have none). Received: schedules key {name!r}"
            )
        return targets

    def _apply_schedules(self):
        step = ops.convert_to_tensor(self.training_step)
        for schedule, targets in self._schedules.values():
            value = schedule(step)
            for variable in targets:
                variable.assign(ops.cast(value, variable.dtype))
        self.training_step.assign(step + 1.0)

    def call(self, x, training=None):
        if training:
            self._apply_schedules()
        hard = self.estimator is not None
        posterior, context = self.encoder.run(
            self._unit(x), training=training, discrete=True if hard else None
        )
        zeros = ops.zeros_like(posterior.params[:, 0])
        if hard and training:  # the estimator decodes its own codes
            return {
                "posterior_params": posterior.params,
                "latents": posterior.samples,
                "decoder_kl": zeros,
            }
        out, decoder_kl, _, _ = self.decoder.run(
            posterior.samples, context, training=training
        )
        return {
            "posterior_params": posterior.params,
            "latents": posterior.samples,
            "output": out,
            "decoder_kl": decoder_kl + zeros,
        }

    def posterior_from(self, y_pred, training):
        """The `Posterior` of `call`'s outputs."""
        return self.encoder.latent.posterior(
            y_pred["posterior_params"],
            y_pred["latents"],
            num_groups=self.encoder.num_groups,
            training=training,
            discrete=not training or self.estimator is not None,
        )

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        posterior = self.posterior_from(y_pred, training)
        latent_kl = kl_divergence(posterior, self.prior)
        kl = latent_kl + y_pred["decoder_kl"]
        penalty = self.latent_penalty(posterior, latent_kl) + y_pred["decoder_kl"]
        kl_weight = ops.cast(self.kl_weight, kl.dtype)
        if self.estimator is not None and "output" not in y_pred:
            reconstruction, loss = self.estimator.loss(
                self._problem(x, posterior.params), training=training
            )
            if not self.estimator.multi_sample:
                loss = loss + kl_weight * penalty
        else:
            reconstruction = self.likelihood.nll(self._flat(x), y_pred["output"])
            loss = reconstruction + kl_weight * penalty
        self.elbo_tracker.update_state(-(reconstruction + kl))
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return ops.mean(loss) + self.weight_penalty()

    def latent_penalty(self, posterior, kl):
        """The per-example term the loss puts in place of the latents' KL.

        The ELBO's own KL here; a named model may trade it for another
        penalty (`CategoricalVAE(kl_penalty="marginal")`). The metrics
        (elbo, kl) always report the ELBO's KL.
        """
        return kl

    def _problem(self, x, logits):
        """The `estimators.Problem` of a training batch."""
        x = self._flat(x)

        def nll(codes, copies, frozen):
            rows = ops.tile(x, (copies, 1)) if copies > 1 else x
            if frozen:  # the decoder's weights as constants
                out = self.decoder.stateless_call(
                    [ops.stop_gradient(v) for v in self.decoder.trainable_variables],
                    [
                        ops.convert_to_tensor(v)
                        for v in self.decoder.non_trainable_variables
                    ],
                    codes,
                    training=False,
                )[0]
            else:
                out, _, _, _ = self.decoder.run(codes, None, training=True)
            return self.likelihood.nll(rows, out)

        return estimators_lib.Problem(
            logits,
            estimators_lib.coding_for(self.encoder.latent),
            self._unit(x) - self.encoder.input_mean,
            self.kl_weight,
            nll,
            self.prior.log_prob,
        )

    def _check_estimator(self):
        if self.estimator is None:
            return
        estimators_lib.coding_for(self.encoder.latent)  # raises if continuous
        local = getattr(self.decoder, "continuous_layers", 0) or not hasattr(
            self.decoder, "continuous_layers"
        )
        if self.encoder.num_groups != 1 or local:
            raise ValueError(
                "A gradient estimator needs one group of latents and a fully "
                "connected decoder without local latents (its codes are drawn "
                "outside the encoder's hierarchy). Received: estimator="
                f"{type(self.estimator).__name__}, num_groups="
                f"{self.encoder.num_groups}, decoder={type(self.decoder).__name__}"
            )

    def weight_penalty(self):
        """λ/2 Σ w² over every kernel (dense, convolution, the RBM coupling)."""
        if not self.weight_decay:
            return 0.0
        kernels = [
            v
            for v in self.trainable_variables
            if v.path.endswith("kernel") or v.path.endswith("/W")
        ]
        return 0.5 * self.weight_decay * sum(ops.sum(w * w) for w in kernels)

    def check_data(self, x, name="x", purpose=None):
        """Raises `ValueError` unless `x` is data this model can score.

        Arrays and lists are checked in full, a `PyDataset` through its
        first batch, a backend tensor by its shape only (its values stay on
        the device); other datasets pass unchecked. With a `purpose` (what
        needs the data, e.g. "fit"), data of no example are refused too.
        """
        if isinstance(x, keras.utils.PyDataset):
            if len(x) == 0:
                raise ValueError(
                    f"`{name}` is an empty PyDataset. Received: {name} with 0 batches"
                )
            first = x[0]
            first = first[0] if isinstance(first, tuple) else first
            self.check_data(first, name, purpose)
            return
        if isinstance(x, dict):
            return
        if not isinstance(x, (np.ndarray, list)):
            shape = getattr(x, "shape", None)
            if hasattr(x, "dtype") and shape is not None and None not in shape:
                data_lib.check_shape(tuple(shape), self.image_shape, name)
                if purpose:
                    data_lib.check_rows(tuple(shape), name, purpose)
            return
        array = data_lib.as_rows(data_lib.as_array(x, name), self.image_shape, name)
        if purpose:
            data_lib.check_rows(array.shape, name, purpose)
        data_lib.check_numeric(array, name)
        self.likelihood.check_data(array, name)

    def adapt(self, x, batch_size=None, output_bias=True):
        """Centres the encoder's input by the mean of `x`; starts the output bias.

        The output bias starts at the likelihood's choice for the mean image
        (logit of the mean pixel for Bernoulli pixels), as the DVAE++/DVAE#
        reference code does. `x` may also be grey levels in [0, 1] (a
        dynamically binarised set's probabilities: the same means).

        Args:
            x: data (arrays, shaped or flat, or a dataset).
            batch_size: rows per batch when `x` is a dataset.
            output_bias: also set the output bias (else only centre).

        Returns:
            The model.
        """
        array = self._host_data(x, batch_size)
        data_lib.check_rows(array.shape, "x", "adapt")
        mean = np.asarray(array, "float64").mean(axis=0) * self.likelihood.scale
        self.encoder.input_mean.assign(mean.astype("float32"))
        bias = self.likelihood.initial_bias(mean) if output_bias else None
        target = self.decoder.output_bias
        if bias is not None and target is not None:
            target.assign(np.reshape(bias, tuple(target.shape)))
        return self

    def _host_data(self, x, batch_size):
        """Host rows of `x` in the likelihood's range (grey levels allowed)."""
        array = data_lib.collect(x, self.image_shape, batch_size, "x")
        data_lib.check_numeric(array, "x")
        unit = np.asarray(array, "float64") * self.likelihood.scale
        if unit.size and (unit.min() < 0 or unit.max() > 1):
            raise ValueError(
                "`x` must hold values in the likelihood's range (0..1, or "
                "0..255 for 8-bit images). Received: x with values in "
                f"[{array.min()}, {array.max()}]"
            )
        return array

    def fit(self, x=None, *args, adapt=True, **kwargs):
        """`keras.Model.fit`, centring an untrained model's input first.

        A model that was neither adapted nor trained (`training_step` 0 and
        a zero input mean) first has its input centred by the mean of `x`
        (`adapt(x, output_bias=False)`): all of an array, the first
        `AUTO_ADAPT_ROWS` rows of a dataset; a one-shot iterator (a
        generator) cannot be read twice and is only warned about.

        Why: on uncentred pixels (all ≥ 0) Adam's normalised steps move every
        input's encoder logits together. With the output bias at 0 (every
        pixel p = ½) the first steps' reconstruction gradient is nearly the
        same for every input (learn the mean image), so the encoder maps all
        inputs to one code and its logits reach |60| within 50 steps, where
        the softmax passes no gradient: Gumbel-softmax on the tutorial's 4 ×
        8 configuration collapsed this way in 5 of 5 seeds. Centring alone
        prevents it (0 of 5). The output bias is left at 0: started at the
        mean image (`adapt`'s default), the reconstruction gains little from
        the codes at first while the KL costs at once, and the posterior
        collapses to the prior instead (`CategoricalVAE()` at its defaults:
        KL 0 in 3 of 3 seeds). See `benchmarks/RESULTS_estimators.md`.

        Args:
            x, *args, **kwargs: as for `keras.Model.fit`.
            adapt: False to never centre automatically.

        Raises:
            ValueError: before any step: `x` or `validation_data` holds no
                example or data this model cannot score (`check_data`), or
                `batch_size` or `epochs` is not an integer >= 1.
        """
        x = self._checked_keras_data(x, kwargs, "fit")
        if kwargs.get("epochs") is not None:
            checks.check_positive_int("epochs", kwargs["epochs"])
        validation = kwargs.get("validation_data")
        if isinstance(validation, (tuple, list)) and len(validation):
            validation = validation[0]
        if validation is not None:
            self.check_data(validation, "validation_data", "validation")
        if adapt and self._untouched():
            self._auto_adapt(x)
        return super().fit(x, *args, **kwargs)

    def _checked_keras_data(self, x, kwargs, purpose):
        """`x` of `fit` or `evaluate` (`purpose`) checked, and a list as an
        array (Keras would take a list for several inputs); the batch sizes
        in `kwargs` checked."""
        if x is None:
            raise ValueError(f"{purpose} needs data `x`. Received: x=None")
        for key in ("batch_size", "validation_batch_size"):
            if kwargs.get(key) is not None:
                checks.check_positive_int(key, kwargs[key])
        if isinstance(x, list):
            x = data_lib.as_array(x, "x")
        self.check_data(x, purpose=purpose)
        return x

    def _untouched(self):
        """Neither adapted nor trained: the state `fit` adapts automatically."""
        return float(ops.convert_to_numpy(self.training_step)) == 0.0 and not np.any(
            ops.convert_to_numpy(self.encoder.input_mean)
        )

    def _auto_adapt(self, x):
        if x is None or isinstance(x, dict):
            return
        if hasattr(x, "__next__"):  # a generator: reading it would consume it
            warnings.warn(
                "fit could not centre this untrained model's input: a one-shot "
                f"iterator ({type(x).__name__}) cannot be read twice, and an "
                "uncentred input can collapse the posterior; call "
                "`model.adapt(x)` before `fit` (or pass `adapt=False`).",
                KerasDVAEWarning,
                stacklevel=3,
            )
            return
        rows = data_lib.collect(x, self.image_shape, None, "x", AUTO_ADAPT_ROWS)
        if len(rows):
            self.adapt(rows, output_bias=False)

    def evaluate(self, x=None, *args, **kwargs):
        # Also validation inside `fit`: log Z is updated if the prior changed.
        if not kwargs.get("_use_cached_eval_dataset"):
            x = self._checked_keras_data(x, kwargs, "evaluate")
        self.prior.ensure_log_partition()
        return super().evaluate(x, *args, **kwargs)

    def _encoded(self, x, batch_size, function, widths, mode=False):
        """`function(posterior, context)` over batches of data `x`, in NumPy;
        no rows of `x` give empty outputs of the `widths`."""

        def run(batch):
            unit = self._unit(batch)
            return function(
                *self.encoder.run(unit, training=False, discrete=True, mode=mode)
            )

        array = self._host_data(x, batch_size)
        return _in_batches(run, array, batch_size, lambda: self._no_rows(*widths))

    def _no_rows(self, *widths):
        """The NumPy outputs (0, width) of each width (one array for one)."""
        empty = tuple(
            ops.convert_to_numpy(ops.zeros((0, width), self.compute_dtype))
            for width in widths
        )
        return empty if len(empty) > 1 else empty[0]

    def _images(self, latents, context=None):
        out, _, _, _ = self.decoder.run(latents, context, training=False, discrete=True)
        return self.likelihood.images(out)

    def encode(self, x, sample=False, batch_size=None):
        """Codes of `x` and their probabilities.

        Args:
            x: data (arrays, shaped or flat, or a dataset).
            sample: draw z ~ q(z|x) (True) or take each group's most likely
                code given the earlier groups' codes (False, deterministic).
            batch_size: examples per pass (default 1000).

        Returns:
            (codes, probabilities), NumPy arrays (n, encoder.num_values):
            q(z=1|x, z_<g) (binary), the softmax (categorical) or the
            posterior standard deviations (Normal).
        """

        def codes(posterior, _):
            if type(self.encoder.latent).__name__ == "GaussianLatent":
                return posterior.samples, ops.exp(0.5 * posterior.moments[1])
            return posterior.samples, posterior.probabilities

        widths = (self.encoder.num_values,) * 2
        return self._encoded(x, batch_size, codes, widths, mode=not sample)

    def decode(self, z, batch_size=None):
        """Images for codes `z` (n, encoder.num_values), decoder latents from p.

        Returns:
            Flat NumPy images (n, prod(image_shape)) in [0, 1].
        """
        z = data_lib.as_array(z, "z")
        if z.ndim != 2 or z.shape[1] != self.encoder.num_values:
            raise ValueError(
                f"`z` must have shape (n, {self.encoder.num_values}) (codes as "
                f"`encode` returns them). Received: z with shape {z.shape}"
            )
        data_lib.check_numeric(z, "z")
        return _in_batches(
            self._images,
            z.astype("float32"),
            batch_size,
            lambda: self._no_rows(self.input_dim),
        )

    def reconstruct(self, x, batch_size=None):
        """One stochastic reconstruction of `x` through the discrete posterior."""
        return self._encoded(
            x,
            batch_size,
            lambda posterior, context: self._images(posterior.samples, context),
            (self.input_dim,),
        )

    def generate(self, num_samples, batch_size=None):
        """Images from the model: z ~ p(z) (an RBM: fresh Gibbs chains), decoded."""
        num_samples = checks.check_positive_int("num_samples", num_samples)
        return self.decode(self.prior.sample(num_samples), batch_size=batch_size)

    def feature_extractor(self, output="probabilities", name=None):
        """The encoder as a deterministic `keras.Model` (*image_shape) → (num_values,).

        The pass of `encode(x)` (an `EncoderFeatures` layer that shares this
        VAE's encoder and input centring), to drop into another model:
        fine-tuning it trains this VAE's encoder; `trainable = False`
        freezes it.

        Args:
            output: "probabilities" (differentiable), "codes" (mode codes,
                no gradient: hashing, frozen features) or "logits".
            name: the model's name (default "<vae name>_features").

        Returns:
            A `keras.Model` mapping (n, prod(image_shape)) to
            (n, encoder.num_values).

        Example:

        >>> import keras, numpy as np
        >>> from keras_dvae.models import BernoulliVAE
        >>> vae = BernoulliVAE(image_shape=(4,), num_latents=2, hidden_units=())
        >>> classifier = keras.Sequential([
        ...     vae.feature_extractor(),          # shares vae's encoder
        ...     keras.layers.Dense(3, activation="softmax")])
        >>> x = np.eye(4, dtype="float32")
        >>> codes = vae.feature_extractor("codes")(x)
        >>> bool(np.all(np.asarray(codes) == vae.encode(x)[0]))
        True
        """
        if output not in FEATURE_OUTPUTS:
            raise ValueError(
                f"`output` must be one of {FEATURE_OUTPUTS}. "
                f"Received: output={output!r}"
            )
        inputs = keras.Input(shape=(self.input_dim,), name="x")
        layer = EncoderFeatures(
            self.encoder,
            output_type=output,
            image_shape=self.image_shape,
            scale=self.likelihood.scale,
            name="encoder_features",
        )
        return keras.Model(inputs, layer(inputs), name=name or f"{self.name}_features")

    def _log_weights(self, x):
        """log p(x, z, h) − log q(z, h|x) for one z ~ q(z|x) (discrete) per row."""
        x = self._flat(x)
        posterior, context = self.encoder.run(
            self._unit(x), training=False, discrete=True
        )
        out, _, local_log_q, local_log_p = self.decoder.run(
            posterior.samples, context, training=False, discrete=True
        )
        return (
            -self.likelihood.nll(x, out)
            + self.prior.log_prob(posterior.samples)
            + local_log_p
            - posterior.log_prob()
            - local_log_q
        )

    def log_likelihood(
        self, x, num_samples=4000, batch_size=None, chunk_size=None, verbose="auto"
    ):
        """Importance-weighted log p(x) in the discrete limit, per example.

            log p(x) ≈ log (1/K) Σ_k p(x, z_k) / q(z_k|x),   z_k ~ q(z|x),

        with z binary (or one-hot), as the papers evaluate; a stochastic
        lower bound whose expectation rises to log p(x) as K grows (Burda et
        al. 2016). Samples run in chunks of `batch_size × chunk_size` rows,
        the log-sum-exp in float64. An RBM prior first updates its log Z.

        Args:
            x: data (arrays, shaped or flat, or a dataset).
            num_samples: K, importance samples per example.
            batch_size: examples per chunk (default: 10⁵ rows a chunk,
                2,000 for convolutional models).
            chunk_size: samples per chunk (default min(K, 1000)).
            verbose: 1 for a progress bar (of the samples drawn), 0 for
                none; "auto": 1 when stdout is a terminal.

        Returns:
            NumPy float64 array (n,) of estimates in nats.
        """
        num_samples = checks.check_positive_int("num_samples", num_samples)
        verbose = checks.verbosity(verbose)
        if chunk_size is not None:
            chunk_size = checks.check_positive_int("chunk_size", chunk_size)
        chunk_size = min(num_samples, chunk_size or 1000)
        if batch_size is None:
            rows = 2_000 if self.encoder.trunk is not None else 100_000
            batch_size = max(1, rows // chunk_size)
        batch_size = checks.check_positive_int("batch_size", batch_size)
        x = data_lib.collect(x, self.image_shape, None, "x")
        self.check_data(x)  # before the cast, which would take strings
        x = np.asarray(x, "float32")
        if len(x) == 0:
            return np.zeros((0,), "float64")
        self.prior.ensure_log_partition(verbose=verbose)
        weights = self._log_weight_model()
        progress = keras.utils.Progbar(
            len(x) * num_samples, verbose=verbose, unit_name="sample"
        )
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
                progress.add(n * k)
            results.append(total - math.log(num_samples))
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

        Reused to keep its compiled predict function (about 1 s per call on
        JAX). Held in a plain namespace, untracked: the wrapper holds the
        model, and Keras's saving would recurse through it for ever.
        """
        holder = self.__dict__.get("_log_weights_cache")
        if holder is None:
            holder = types.SimpleNamespace(model=_LogWeights(self))
            object.__setattr__(self, "_log_weights_cache", holder)
        return holder.model

    @classmethod
    def presets(cls):
        """Names of the pretrained presets (`keras_dvae.zoo`) of this class."""
        return _preset_store("presets_of")(cls)

    @classmethod
    def from_preset(cls, name, load_weights=True, verify=True):
        """Loads a pretrained preset of this class (`keras_dvae.zoo`).

        Args:
            name: a name from `cls.presets()`, or a path to a preset folder.
            load_weights: load the trained weights (else a fresh model of
                the preset's configuration).
            verify: check the files' sha256 against the preset's metadata.

        Returns:
            The model, an instance of `cls` (or of a subclass).

        Raises:
            ValueError: an unknown or corrupted preset (see `zoo.load`), or a
                preset of a class that is not `cls` or a subclass of it.

        Example:

        >>> from keras_dvae import models
        >>> model = models.DVAEPP.from_preset("dvaepp_2nl_mnist_static")
        """
        load = _preset_store("load")
        return load(name, verify=verify, load_weights=load_weights, cls=cls)

    def save_to_preset(self, directory, metadata=None, samples=None):
        """Writes this model as a preset folder (see `keras_dvae.zoo.export`).

        Args:
            directory: the folder; its name is the preset's name.
            metadata: dict for metadata.json ("dataset", "metrics",
                "training", "ci_check", ...; the class, versions, log Z
                and weights' sha256 are added).
            samples: optional uint8 picture for samples.png.

        Returns:
            The written metadata dict.
        """
        return _preset_store("export")(self, directory, dict(metadata or {}), samples)

    def get_config(self):
        config = super().get_config()
        if self._arguments is not None:
            for name in self._arguments:
                config[name] = _config_value(getattr(self, _attribute(name)))
            return config
        for part in _PARTS:
            config[part] = keras.saving.serialize_keras_object(getattr(self, part))
        config.update(
            image_shape=list(self.image_shape),
            weight_decay=self.weight_decay,
            seed=self.seed,
        )
        return config


def _in_batches(function, array, batch_size, empty):
    """`function` of each batch of host `array` (1000 rows by default), outputs
    (a tensor or a tuple of tensors) concatenated in NumPy; `empty()` when
    `array` has no rows."""
    step = 1000 if batch_size is None else batch_size
    step = checks.check_positive_int("batch_size", step)
    if len(array) == 0:
        return empty()
    outputs = [
        function(ops.convert_to_tensor(array[start : start + step]))
        for start in range(0, len(array), step)
    ]
    return keras.tree.map_structure(
        lambda *parts: np.concatenate([ops.convert_to_numpy(p) for p in parts]),
        *outputs,
    )


def _logsumexp(a):
    m = np.max(a, axis=1)
    safe = np.where(np.isfinite(m), m, 0.0)
    return safe + np.log(np.sum(np.exp(a - safe[:, None]), axis=1))


class _LogWeights(keras.Model):
    """A thin model whose compiled `predict_on_batch` runs `vae._log_weights`
    (Keras carries the seed generators' state across calls: fresh samples)."""

    def __init__(self, vae):
        # The automatic name, "__log_weights", is no valid TF name scope.
        super().__init__(name="log_weights")
        self.vae = vae
        self.built = True

    def call(self, x):
        return self.vae._log_weights(x)

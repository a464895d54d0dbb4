"""Schedules of β, τ and the KL weight, evaluated inside the training step.

A schedule maps the model's training step (a variable saved with its
weights) to a value. Passed to `DiscreteVAE.compile(schedules={...})`, it
is evaluated inside the compiled step, so JAX keeps its state on the device
and a resumed run continues each schedule at its step.

>>> from keras_dvae import schedules
>>> kl = schedules.Linear(0.0, 1.0, steps=1000)
>>> float(kl(500))
0.5
>>> tau = schedules.Geometric(1.0, 0.5, steps=23_105)   # Jang et al.'s τ
"""

import math

import keras
from keras import ops

from keras_dvae.utils import checks

#: The model's KL weight and its latent layers' smoothing β or
#: Gumbel-softmax τ.
TARGETS = ("kl_weight", "beta", "temperature")


class Schedule:
    """A function of the training step; subclasses implement `value(step)`."""

    def __call__(self, step):
        step = ops.cast(ops.convert_to_tensor(step), "float32")
        return self.value(step)

    def value(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement value")

    def get_config(self):
        return dict(self.__dict__)

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _finite(name, value):
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and math.isfinite(value)):
        raise ValueError(
            f"`{name}` must be a finite number. Received: {name}={value!r}"
        )
    return float(value)


@keras.saving.register_keras_serializable(package="keras_dvae")
class Linear(Schedule):
    """start + (end − start) · min(step / steps, 1): a ramp, then `end`;
    `steps` is an int ≥ 1."""

    def __init__(self, start, end, steps):
        self.start = _finite("start", start)
        self.end = _finite("end", end)
        self.steps = checks.check_positive_int("steps", steps)

    def value(self, step):
        fraction = ops.minimum(step / float(self.steps), 1.0)
        return self.start + (self.end - self.start) * fraction


@keras.saving.register_keras_serializable(package="keras_dvae")
class Geometric(Schedule):
    """start · (end / start)^min(step / steps, 1): exponential, then `end`.

    `start`, `end` > 0 and `steps` ≥ 1. Jang et al.'s τ = max(0.5,
    exp(−3·10⁻⁵ step)) is `Geometric(1.0, 0.5, steps=round(ln 2 / 3e-5))`.
    """

    def __init__(self, start, end, steps):
        self.start = checks.check_positive_finite("start", _finite("start", start))
        self.end = checks.check_positive_finite("end", _finite("end", end))
        self.steps = checks.check_positive_int("steps", steps)

    def value(self, step):
        fraction = ops.minimum(step / float(self.steps), 1.0)
        return self.start * ops.exp(fraction * math.log(self.end / self.start))


def get(identifier):
    """A `Schedule` from itself, a config dict, or a number (constant)."""
    if isinstance(identifier, Schedule):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, (int, float)) and not isinstance(identifier, bool):
        value = _finite("schedule", identifier)
        return Linear(value, value, 1)
    raise ValueError(
        "A schedule must be a keras_dvae.schedules.Schedule, its config or a "
        f"number. Received: {identifier!r}"
    )


def serialize(schedule):
    return keras.saving.serialize_keras_object(schedule)

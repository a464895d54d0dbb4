"""Training callbacks and schedules: β/τ annealing, KL warm-up, learning rate."""

from keras_dvae.callbacks.annealing import (
    BetaAnnealing,
    KLWarmup,
    ParameterAnnealing,
    TemperatureAnnealing,
)
from keras_dvae.callbacks.learning_rate import reference_learning_rate
from keras_dvae.callbacks.log_partition import LogPartitionUpdate

__all__ = [
    "BetaAnnealing",
    "KLWarmup",
    "LogPartitionUpdate",
    "ParameterAnnealing",
    "TemperatureAnnealing",
    "reference_learning_rate",
]

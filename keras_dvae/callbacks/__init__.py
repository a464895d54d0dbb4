"""Training callbacks: log Z refresh; model selection on validation data;
the reference learning rate.

β, τ and KL-weight schedules run inside the compiled step (`schedules`).
"""

from keras_dvae.callbacks.learning_rate import reference_learning_rate
from keras_dvae.callbacks.log_partition import LogPartitionUpdate
from keras_dvae.callbacks.selection import BestValidation

__all__ = ["BestValidation", "LogPartitionUpdate", "reference_learning_rate"]

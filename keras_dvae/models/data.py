"""Data at the models' API boundary: arrays, shaped images, datasets."""

import math

import numpy as np
from keras import ops

from keras_dvae.utils import checks


def as_array(x, name):
    """`x` (an array, a list or a backend tensor) as a NumPy array; a ragged
    list raises a `ValueError` naming `name`."""
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        return np.asarray(ops.convert_to_numpy(x))
    try:
        return np.asarray(x)
    except ValueError:  # NumPy refuses ragged nested lists
        raise ValueError(
            f"`{name}` must be a rectangular array: every example of the same "
            f"shape. Received: {name} of type {type(x).__name__} with rows of "
            "different lengths"
        ) from None


def check_rows(shape, name, purpose):
    """Raises unless data of shape `shape` hold at least one example (row);
    `purpose` says what needs one (e.g. "fit")."""
    if shape[0] == 0:
        raise ValueError(
            f"`{name}` holds no examples: {purpose} needs at least one. "
            f"Received: {name} with shape {tuple(shape)}"
        )


def as_rows(array, image_shape, name):
    """`array` as (n, prod(image_shape)), from any (n, ...) of that many values
    (e.g. (n, 28, 28) for an MLP over 784 pixels)."""
    return array.reshape(len(array), check_shape(array.shape, image_shape, name))


def check_shape(shape, image_shape, name):
    """Raises unless data of shape `shape` are rows of `image_shape` (see
    `as_rows`); returns the width prod(image_shape)."""
    width = math.prod(image_shape)
    if len(shape) >= 2 and math.prod(shape[1:]) == width:
        return width
    shapes = f"(num_examples, {width})"
    if len(image_shape) > 1:
        shapes += f" or (num_examples, {', '.join(map(str, image_shape))})"
    raise ValueError(
        f"`{name}` must have shape {shapes} (or any shape with {width} values "
        f"per example) for this model. Received: {name} with shape {tuple(shape)}"
    )


def check_numeric(array, name):
    """Raises unless `array` is numeric and finite."""
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"`{name}` must be numeric. Received: {name} with dtype {array.dtype}"
        )
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(
            f"`{name}` holds {int(np.sum(~np.isfinite(array)))} NaN or Inf "
            f"value(s). Received: {name} with shape {array.shape}"
        )


def collect(x, image_shape, batch_size, name, max_rows=None):
    """Host rows (n, prod(image_shape)) from an array, a tensor, or batches
    (x or (x, ...)) of a `tf.data.Dataset`, a `PyDataset` or any iterable;
    with `max_rows`, batches stop being read once that many are in."""
    if batch_size is not None:
        checks.check_positive_int("batch_size", batch_size)
    if isinstance(x, (np.ndarray, list)) or (
        hasattr(x, "shape") and hasattr(x, "dtype")  # a backend tensor
    ):
        return as_rows(as_array(x, name), image_shape, name)
    if hasattr(x, "as_numpy_iterator"):  # tf.data
        batches = x.as_numpy_iterator()
    elif hasattr(x, "__len__") and hasattr(x, "__getitem__"):  # PyDataset
        batches = (x[i] for i in range(len(x)))
    elif hasattr(x, "__iter__"):
        batches = iter(x)
    else:
        raise ValueError(
            f"`{name}` must be an array, a tf.data.Dataset, a PyDataset or an "
            f"iterable of batches. Received: {name} of type {type(x).__name__}"
        )
    rows = []
    for batch in batches:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        if isinstance(batch, dict):
            raise ValueError(
                f"`{name}` batches must be arrays (or tuples starting with one). "
                f"Received: a batch of type dict"
            )
        rows.append(collect(batch, image_shape, None, name))
        if max_rows is not None and sum(map(len, rows)) >= max_rows:
            break
    if not rows:
        return np.zeros((0, math.prod(image_shape)), "float32")
    return np.concatenate(rows)

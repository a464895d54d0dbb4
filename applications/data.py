"""The datasets as the applications use them: a training/database split,
a test/query split, labels, and whether the pixels are binary.

- "digits": scikit-learn's 8×8 digits, binarised at 0.5 (1,497 / 300).
- "mnist_static": Larochelle's binarised MNIST; train and valid together
  are the 60,000 MNIST training images (the database), test the 10,000
  queries. Labels are the `y_*_matched` ones (see the data README).
- "cifar10": the lossy JPEG copy (50,000 / 10,000), converted to
  grey levels L = (0.299 R + 0.587 G + 0.114 B) / 255, flattened to
  1,024 values in [0, 1]. The VAEs train on a fresh Bernoulli(L) draw
  every epoch (dynamic binarisation) and encode the grey levels
  themselves (the expected binary input); the baselines see L.
"""

import dataclasses

import numpy as np

from keras_dvae import datasets

NAMES = ("digits", "mnist_static", "cifar10")
#: ITU-R BT.601 luma weights.
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclasses.dataclass(frozen=True, eq=False)
class Task:
    """Arrays of one application dataset.

    Attributes:
        name: the dataset's name.
        x_train, x_test: float32 (n, input_dim), 0/1 or grey levels in
            [0, 1] (`binary` says which).
        y_train, y_test: int64 labels.
        binary: True when the pixels are fixed 0/1 values.
        description: what the arrays are, in words (for the results).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    binary: bool
    description: str

    @property
    def input_dim(self):
        return self.x_train.shape[1]


def load(name, data_dir=None):
    """A `Task` for `name` in `NAMES`, read with `keras_dvae.datasets.load`."""
    if name not in NAMES:
        raise ValueError(f"`name` must be one of {NAMES}. Received: name={name!r}")
    data = datasets.load(name, data_dir=data_dir)
    if name == "digits":
        return Task(
            name,
            data.x_train,
            data.y_train.astype(np.int64),
            data.x_test,
            data.y_test.astype(np.int64),
            binary=True,
            description="sklearn digits 8x8 binarised at 0.5, 1,497 train / 300 test",
        )
    if name == "mnist_static":
        return Task(
            name,
            np.concatenate([data.x_train, data.x_valid]),
            np.concatenate([data.y_train, data.y_valid]).astype(np.int64),
            data.x_test,
            data.y_test.astype(np.int64),
            binary=True,
            description=(
                "statically binarised MNIST: train+valid (60,000) as the "
                "training set/database, test (10,000) as queries; labels matched"
            ),
        )
    return Task(
        name,
        grey(data.x_train),
        data.y_train.astype(np.int64),
        grey(data.x_test),
        data.y_test.astype(np.int64),
        binary=False,
        description=(
            "CIFAR-10 JPEG copy (LOSSY), grey levels (BT.601 luma / 255), "
            "1,024 values; 50,000 train/database, 10,000 test/queries"
        ),
    )


def grey(images):
    """uint8 (n, 32, 32, 3) RGB → float32 (n, 1024) luma in [0, 1]."""
    images = np.asarray(images)
    luma = images.reshape(len(images), -1, 3).astype(np.float32) @ LUMA
    return np.clip(luma / 255.0, 0.0, 1.0)

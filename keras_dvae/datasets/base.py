"""`Dataset`: the arrays of one benchmark set and the facts needed to use them."""

import dataclasses

import numpy as np

from keras_dvae.datasets.sequences import ArraySequence, BinarizedSequence, binarize

SPLITS = ("train", "valid", "test")
#: `class_names` of the digit sets.
DIGITS = tuple(str(d) for d in range(10))


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class Dataset:
    """The splits of one dataset, as returned by `keras_dvae.datasets.load`.

    Image sets hold x as float32 `(n, prod(image_shape))`, flattened in
    row-major (C) order, so `x.reshape(-1, *image_shape)` gives upright
    images with ink = 1. CIFAR-10 is the exception: uint8 `(n, 32, 32, 3)`,
    0..255, because discretised likelihoods need the integer pixels.

    Rows are in the order of the source files (for some sets grouped by
    class); nothing is shuffled here, since `fit` shuffles.

    Attributes:
        name: the name passed to `load`.
        x_train, x_valid, x_test: the splits; `x_valid` (and `x_test` for
            a train-only set) may be `None`.
        y_train, y_valid, y_test: int64 labels, or `None` without labels.
        image_shape: shape of one image, e.g. `(28, 28)` or `(32, 32, 3)`.
        binary: True when the pixels are fixed values in {0, 1}.
        dynamic_binarization: True when `x_train` holds grey levels in
            [0, 1] meant to be resampled as Bernoulli(x) every epoch (see
            `train_batches`); `x_valid`/`x_test` are then binarised once,
            with a fixed seed, so that test likelihoods are reproducible.
        lossy: True when the pixels went through lossy compression, so that
            likelihoods are not comparable with published numbers.
        notes: provenance, preprocessing, split and caveats, in words.
        class_names: names of the labels (`class_names[y]`), or `None`.
    """

    name: str
    x_train: np.ndarray
    x_valid: np.ndarray | None = None
    x_test: np.ndarray | None = None
    y_train: np.ndarray | None = None
    y_valid: np.ndarray | None = None
    y_test: np.ndarray | None = None
    image_shape: tuple
    binary: bool = False
    dynamic_binarization: bool = False
    lossy: bool = False
    notes: str
    class_names: tuple | None = None

    @classmethod
    def from_splits(cls, name, x, y=None, **facts):
        """A `Dataset` from dicts of arrays `x` and `y` (or None) keyed by split.

        Missing splits are `None`; `**facts` are the other fields.
        """
        return cls(
            name=name,
            **{f"x_{split}": value for split, value in x.items()},
            **{f"y_{split}": value for split, value in (y or {}).items()},
            **facts,
        )

    @classmethod
    def dynamic(cls, name, grey, labels, rows, seed, **facts):
        """A dynamically binarised `Dataset` of the rows `rows[split]`.

        `x_train` keeps the grey levels; `x_valid` and `x_test` are binarised
        once, with `np.random.default_rng([seed, 1])` and `([seed, 2])`, so
        that their likelihoods are reproducible. An empty split is `None`.

        Args:
            name: the dataset's name.
            grey: float32 grey levels in [0, 1] of all the rows.
            labels: the labels of all the rows.
            rows: dict of the indices (or slices) of "train", "valid", "test".
            seed: seed of the one-off binarisation.
            **facts: the remaining fields (`image_shape`, `notes`, ...).
        """
        x = {split: grey[index] for split, index in rows.items()}
        y = {split: labels[index] for split, index in rows.items()}
        for k, split in ((1, "valid"), (2, "test")):
            if len(x[split]):
                x[split] = binarize(x[split], [seed, k])
            else:
                x[split] = y[split] = None
        return cls.from_splits(name, x, y, dynamic_binarization=True, **facts)

    def train_batches(self, batch_size, seed=None, shuffle=True):
        """Training batches for `model.fit`, as a `keras.utils.PyDataset`.

        A `BinarizedSequence` (a fresh Bernoulli draw each epoch) when the
        set uses dynamic binarisation, else an `ArraySequence` that only
        reshuffles. Batches are `(x,)` tuples, for unsupervised models.

        Args:
            batch_size: examples a batch.
            seed: int seed of the shuffling (and of the Bernoulli draws),
                or `None` for a random one.
            shuffle: reshuffle the rows every epoch.

        Returns:
            A `keras.utils.PyDataset`.
        """
        cls = BinarizedSequence if self.dynamic_binarization else ArraySequence
        return cls(self.x_train, batch_size, seed=seed, shuffle=shuffle)

    def __repr__(self):
        shapes = ", ".join(
            f"x_{s}={getattr(getattr(self, f'x_{s}'), 'shape', None)}" for s in SPLITS
        )
        return (
            f"Dataset(name={self.name!r}, {shapes}, image_shape={self.image_shape}, "
            f"binary={self.binary}, dynamic_binarization={self.dynamic_binarization}, "
            f"lossy={self.lossy})"
        )

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

    Image sets hold x as float32 `(n, prod(image_shape))`, row-major, so
    `x.reshape(-1, *image_shape)` gives upright images with ink = 1;
    CIFAR-10 holds uint8 `(n, 32, 32, 3)`, 0..255 (discretised likelihoods
    need the integer pixels). Rows are in the source files' order (some
    grouped by class): `fit` shuffles.

    Attributes:
        name: the name passed to `load`.
        x_train, x_valid, x_test: the splits; `x_valid` (and `x_test` for
            a train-only set) may be `None`.
        y_train, y_valid, y_test: int64 labels, or `None` without labels.
        image_shape: shape of one image, e.g. `(28, 28)` or `(32, 32, 3)`.
        binary: True when the pixels are fixed values in {0, 1}.
        dynamic_binarization: True when `x_train` holds grey levels in
            [0, 1] resampled as Bernoulli(x) every epoch (`train_batches`);
            `x_valid`/`x_test` are then binarised once, with a fixed seed.
        lossy: True when the pixels went through lossy compression
            (likelihoods not comparable with published numbers).
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
        """A `Dataset` from dicts `x` and `y` (or None) of arrays by split;
        `**facts` are the other fields."""
        return cls(
            name=name,
            **{f"x_{split}": value for split, value in x.items()},
            **{f"y_{split}": value for split, value in (y or {}).items()},
            **facts,
        )

    @classmethod
    def dynamic(cls, name, grey, labels, rows, seed, **facts):
        """A dynamically binarised `Dataset` of `grey[rows[split]]`.

        `x_train` keeps the grey levels; `x_valid` and `x_test` are binarised
        once, with `np.random.default_rng([seed, 1])` and `([seed, 2])`. An
        empty split is `None`. `rows` maps "train", "valid", "test" to
        indices or slices of `grey` and `labels`; `**facts` are the other
        fields.
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
        """`(x,)` batches for `model.fit`: a `BinarizedSequence` (a fresh
        Bernoulli draw each epoch) for dynamic binarisation, else an
        `ArraySequence`; `seed` (or `None`: random) seeds both."""
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

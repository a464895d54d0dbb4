"""Training batches for `fit`: reshuffled every epoch, optionally rebinarised."""

import math

import keras
import numpy as np

from keras_dvae.utils import checks


def binarize(x, seed):
    """One Bernoulli(x) draw of grey levels `x` in [0, 1], as float32 {0, 1}.

    A pixel is 1 when u ~ U[0, 1) is below x, so 0 and 1 stay as they are.
    `seed` is an int, a `np.random.SeedSequence` or a `np.random.Generator`.

    Example:

    >>> import numpy as np
    >>> binarize(np.array([0.0, 1.0], "float32"), seed=0)
    array([0., 1.], dtype=float32)
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    x = np.asarray(x, dtype="float32")
    return (rng.random(x.shape, dtype=np.float32) < x).astype("float32")


class ArraySequence(keras.utils.PyDataset):
    """Batches `(x[rows],)` (no targets) of an array, reshuffled every epoch.

    A batch depends only on the seed, the epoch and its index (a
    `SeedSequence` spawn key each), never on the order Keras asks for them.

    Args:
        x: array whose first axis indexes the examples.
        batch_size: int ≥ 1; the last batch of an epoch may be smaller.
        seed: int seed, or `None` for fresh entropy (kept).
        shuffle: reshuffle the rows every epoch; `False` keeps their order.
        **kwargs: passed to `keras.utils.PyDataset` (`workers`, ...).

    Example:

    >>> import numpy as np
    >>> seq = ArraySequence(np.zeros((10, 4), "float32"), batch_size=4, seed=0)
    >>> len(seq), seq[2][0].shape
    (3, (2, 4))
    """

    def __init__(self, x, batch_size, seed=None, shuffle=True, **kwargs):
        super().__init__(**kwargs)
        x = np.asarray(x)
        if x.ndim < 1 or len(x) == 0:
            raise ValueError(f"`x` must hold ≥ 1 example. Received: x.shape={x.shape}")
        self.x = x
        self.batch_size = checks.check_positive_int("batch_size", batch_size)
        self.seed = seed
        self.shuffle = bool(shuffle)
        self.epoch = 0
        self._entropy = np.random.SeedSequence(seed).entropy
        self._order = self._permutation()

    def _rng(self, *key):
        sequence = np.random.SeedSequence(self._entropy, spawn_key=(self.epoch, *key))
        return np.random.default_rng(sequence)

    def _permutation(self):
        if not self.shuffle:
            return np.arange(len(self.x))
        return self._rng(0).permutation(len(self.x))

    def _transform(self, batch, index):  # the batch as `fit` receives it
        del index
        return batch

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(
                f"Batch index out of range [0, {len(self)}). Received: index={index}"
            )
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        return (self._transform(self.x[rows], index),)

    def on_epoch_end(self):
        self.epoch += 1
        self._order = self._permutation()


class BinarizedSequence(ArraySequence):
    """Dynamic binarisation: every epoch a fresh Bernoulli(x) copy of `x`.

    `x` holds grey levels in [0, 1]; a batch is `(binarize(x[rows], rng),)`
    with `rng` seeded by (seed, epoch, batch index). A fresh sample at every
    visit regularises much better than one fixed binarisation. See
    `ArraySequence` for the arguments.

    Example:

    >>> import numpy as np
    >>> seq = BinarizedSequence(np.full((6, 3), 0.5, "float32"), 6, seed=0)
    >>> first = seq[0][0]
    >>> seq.on_epoch_end()
    >>> bool((seq[0][0] != first).any())
    True

    References:
        R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep
        belief networks", ICML 2008 (section 4). Y. Burda, R. Grosse and
        R. Salakhutdinov, "Importance weighted autoencoders", ICLR 2016
        (section 5.1).
    """

    def __init__(self, x, batch_size, seed=None, shuffle=True, **kwargs):
        x = np.asarray(x, dtype="float32")
        if x.size and (x.min() < 0.0 or x.max() > 1.0):
            raise ValueError(
                "`x` must hold probabilities in [0, 1]. "
                f"Received: x with range [{x.min()}, {x.max()}]"
            )
        super().__init__(x, batch_size, seed=seed, shuffle=shuffle, **kwargs)

    def _transform(self, batch, index):
        return binarize(batch, self._rng(1, index))

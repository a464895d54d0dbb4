"""Omniglot (Lake et al. 2015) at 28×28, resized from the 105×105 originals.

The IWAE `chardata.mat` (24,345 train / 8,070 test, resized and split by
Burda et al.) is not available offline, so this module builds its own 28×28
version from the original drawings, with a documented resize and split.
Numbers measured on it are NOT directly comparable with results on the IWAE
`chardata` split.
"""

import functools
import io
import pathlib
import re
import zipfile

import numpy as np

from keras_dvae.datasets import files
from keras_dvae.datasets.base import Dataset
from keras_dvae.datasets.sequences import binarize
from keras_dvae.utils import checks

RAW_FILE = "omniglot_raw.npz"
SOURCE_SIZE = 105
IMAGE_SHAPE = (28, 28)
TRAIN_DRAWINGS = 15  # drawings 1..15 of every character train, 16..20 test
PARTS = ("background", "evaluation")

_LAKE = "https://github.com/brendenlake/omniglot/raw/master/python/"
# No checksum is published for these archives and they cannot be downloaded
# from here, so none is recorded.
REMOTES = tuple(
    files.Remote(f"images_{p}.zip", f"{_LAKE}images_{p}.zip") for p in PARTS
)


def area_weights(n_in, n_out):
    """(n_out, n_in) matrix of 1-D area averaging from n_in to n_out pixels.

    Output pixel i covers the source interval [i·s, (i+1)·s) with
    s = n_in / n_out; its weight on source pixel j is the length of the
    overlap of that interval with [j, j+1), divided by s. Each row sums to 1.
    """
    scale = n_in / n_out
    edges = np.arange(n_out + 1) * scale
    j = np.arange(n_in)[None, :]
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    return (np.clip(overlap, 0.0, None) / scale).astype("float32")


def resize_area(images, size):
    """Area-averaging resize of square images `(n, h, h)` → `(n, size, size)`.

    Each output pixel is the mean of the source area it covers, with
    fractional weights for partly covered pixels (as OpenCV's INTER_AREA;
    unlike PIL's `Image.BOX`, which weights whole pixels by their centres).
    Binary ink images become grey levels in [0, 1] with the same mean ink.

    Args:
        images: array `(n, h, h)`.
        size: output side.

    Returns:
        float32 `(n, size, size)`.
    """
    images = np.asarray(images, dtype="float32")
    weights = area_weights(images.shape[-1], size)
    # Separable: rows then columns, out = W · image · Wᵀ.
    out = (weights @ images) @ weights.T
    # The float32 sums can overshoot 1 by a rounding error.
    return np.clip(out, 0.0, 1.0)


@functools.lru_cache(maxsize=1)
def _resized(path, size, mtime_ns):
    """The resized images and metadata of one `omniglot_raw.npz` (cached)."""
    del size, mtime_ns  # only part of the cache key
    parts = {}
    with np.load(path) as z:
        for part in PARTS:
            n, d = (int(v) for v in z[f"shape_{part}"])
            packed = z[f"x_{part}"]
            grey = np.empty((n, IMAGE_SHAPE[0] * IMAGE_SHAPE[1]), "float32")
            if d != SOURCE_SIZE * SOURCE_SIZE:
                raise ValueError(f"{path}: {part} images are not 105x105.")
            # In chunks: the whole unpacked 105×105 set would take ~350 MB.
            for start in range(0, n, 2048):
                chunk = packed[start : start + 2048]
                ink = files.unpack_bits(chunk, (len(chunk), d))
                ink = ink.reshape(-1, SOURCE_SIZE, SOURCE_SIZE)
                small = resize_area(ink, IMAGE_SHAPE[0])
                grey[start : start + len(chunk)] = small.reshape(len(chunk), -1)
            parts[part] = {
                "x": grey,
                **{
                    key: z[f"{key}_{part}"]
                    for key in ("alphabet", "character", "drawer", "label")
                },
                "alphabet_names": z[f"alphabet_names_{part}"],
            }
    return parts


def load(data_dir=None, *, download=True, verify=None, validation_size=1345, seed=0):
    """Omniglot 28×28 grey levels for dynamic binarisation.

    Made from the 32,460 original 105×105 binary drawings (1,623
    characters × 20 drawers, background and evaluation sets together):

    * Resize: area averaging (`resize_area`) of the ink = 1 images from
      105×105 to 28×28, giving grey levels in [0, 1]; flattened row-major.
    * Split, per character: drawings 1-15 train, 16-20 test, giving 24,345
      train (the size of the IWAE training set) and 8,115 test images.
      `validation_size` training images, chosen by
      `np.random.default_rng([seed, 0])` without replacement, are held out
      as `x_valid` (1,345 by default, giving 23,000 train as in VampPrior).
      This is NOT the IWAE `chardata` split (24,345 / 8,070, its own
      resize), so numbers are not directly comparable with published ones.
    * `x_train` is grey (binarise every epoch with
      `Dataset.train_batches`); `x_valid` and `x_test` are binarised once,
      with `np.random.default_rng([seed, 1])` and `([seed, 2])`.
    * Labels: character classes 0..1622 (background 0..963, evaluation
      964..1622), named "Alphabet/characterNN" in `class_names`. Rows are in
      path order (alphabet, character, drawing): grouped by class.

    The resized arrays are kept in memory for the next call (a few seconds
    to make on 2 cores); nothing is written to disk.

    Args:
        data_dir: directory searched first for `omniglot_raw.npz` (or the
            two `images_{background,evaluation}.zip` of Lake's repository).
        download: download the two zip archives when nothing is found.
        verify: see `keras_dvae.datasets.load`.
        validation_size: training images held out as `x_valid`, ≥ 0.
        seed: seed of the validation choice and of the one-off binarisation.

    Returns:
        A `Dataset` with `dynamic_binarization=True`.

    References:
        B. M. Lake, R. Salakhutdinov and J. B. Tenenbaum, "Human-level
        concept learning through probabilistic program induction", Science
        2015. Y. Burda, R. Grosse and R. Salakhutdinov, "Importance weighted
        autoencoders", ICLR 2016.
    """
    validation_size = checks.check_positive_int(
        "validation_size", validation_size, minimum=0
    )
    found = files.fetch(
        "omniglot",
        (RAW_FILE,),
        data_dir,
        download,
        verify,
        remotes=REMOTES,
        convert=_convert_zips,
        converted="omniglot_raw_converted.npz",
    )
    stat = found.path.stat()
    parts = _resized(str(found.path.resolve()), stat.st_size, stat.st_mtime_ns)

    grey, drawer, label, class_names, offset = [], [], [], [], 0
    for part in PARTS:
        p = parts[part]
        grey.append(p["x"])
        drawer.append(p["drawer"])
        label.append(p["label"].astype("int64") + offset)
        # One name per class, from the class's first row.
        labels, first = np.unique(p["label"], return_index=True)
        class_names += [
            f"{p['alphabet_names'][p['alphabet'][i]]}/character{p['character'][i]:02d}"
            for i in first
        ]
        offset += len(labels)
    grey, drawer, label = (np.concatenate(a) for a in (grey, drawer, label))

    train = np.flatnonzero(drawer <= TRAIN_DRAWINGS)
    test = np.flatnonzero(drawer > TRAIN_DRAWINGS)
    if validation_size >= len(train):
        raise ValueError(
            f"`validation_size` must be < {len(train)}. "
            f"Received: validation_size={validation_size}"
        )
    held = np.zeros(len(train), bool)
    rng = np.random.default_rng([seed, 0])
    held[rng.choice(len(train), validation_size, replace=False)] = True
    valid, train = train[held], train[~held]
    x_valid = y_valid = None
    if validation_size:
        x_valid = binarize(grey[valid], np.random.default_rng([seed, 1]))
        y_valid = label[valid]
    notes = (
        "Omniglot (Lake et al. 2015), all 1,623 characters x 20 drawings, resized "
        "from the original 105x105 binary images to 28x28 by AREA AVERAGING "
        "(fractional coverage, as OpenCV INTER_AREA), grey levels in [0, 1], "
        "row-major, ink = 1, for DYNAMIC binarization (Dataset.train_batches). "
        "Split per character: drawings 1-15 train (24,345), 16-20 test (8,115); "
        f"{validation_size} train images chosen by np.random.default_rng([{seed}, 0]) "
        f"held out as valid, leaving {len(train)} train. x_valid / x_test "
        f"binarized ONCE with np.random.default_rng([{seed}, 1]) / ([{seed}, 2]). "
        "NOT the IWAE chardata split or resize (24,345 / 8,070): numbers are not "
        "directly comparable with published Omniglot results. Rows grouped by "
        f"character. Loaded from {found.path} ({found.kind} copy)."
    )
    return Dataset(
        name="omniglot",
        x_train=grey[train],
        x_valid=x_valid,
        x_test=binarize(grey[test], np.random.default_rng([seed, 2])),
        y_train=label[train],
        y_valid=y_valid,
        y_test=label[test],
        image_shape=IMAGE_SHAPE,
        binary=False,
        dynamic_binarization=True,
        lossy=False,
        notes=notes,
        class_names=tuple(class_names),
    )


_PNG = re.compile(
    r"images_(?P<part>background|evaluation)/(?P<alphabet>[^/]+)/"
    r"character(?P<character>\d+)/(?P<char_id>\d+)_(?P<drawer>\d+)\.png$"
)


def _convert_zips(sources, out):
    """Lake's two zip archives of PNGs → the `omniglot_raw.npz` layout."""
    from PIL import Image

    arrays = {}
    for part in PARTS:
        path = pathlib.Path(sources[f"images_{part}.zip"])
        with zipfile.ZipFile(path) as archive:
            found = (_PNG.search(name) for name in archive.namelist())
            # Rows in the order of the relative paths "<alphabet>/characterNN/...".
            matches = sorted(
                (m for m in found if m and m["part"] == part),
                key=lambda m: m.group(0).split("/", 1)[1],
            )
            if not matches:
                raise ValueError(f"{path} holds no images_{part}/... PNG files.")
            # The PNGs are mode "1" with white background = 1; ink = 1 here.
            ink = np.stack(
                [
                    1 - np.asarray(_open_png(Image, archive, m.string), np.uint8)
                    for m in matches
                ]
            )
        alphabet_names = sorted({m["alphabet"] for m in matches})
        alphabet = {name: i for i, name in enumerate(alphabet_names)}
        pairs = sorted({(m["alphabet"], int(m["character"])) for m in matches})
        label = {pair: i for i, pair in enumerate(pairs)}
        n = len(ink)
        arrays[f"x_{part}"] = np.packbits(ink.reshape(n, -1), axis=-1)
        arrays[f"shape_{part}"] = np.array([n, ink[0].size], np.int64)
        arrays[f"alphabet_names_{part}"] = np.array(alphabet_names)
        arrays[f"alphabet_{part}"] = np.array(
            [alphabet[m["alphabet"]] for m in matches], np.int16
        )
        for key in ("character", "char_id", "drawer"):
            arrays[f"{key}_{part}"] = np.array([int(m[key]) for m in matches], np.int16)
        arrays[f"label_{part}"] = np.array(
            [label[m["alphabet"], int(m["character"])] for m in matches], np.int16
        )
    np.savez_compressed(out, **arrays)


def _open_png(image_module, archive, name):
    with image_module.open(io.BytesIO(archive.read(name))) as image:
        return image.convert("1")

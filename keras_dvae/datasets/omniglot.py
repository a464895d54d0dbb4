"""Omniglot (Lake et al. 2015) at 28×28, resized from the 105×105 originals."""

import functools
import io
import pathlib
import re
import zipfile

import numpy as np

from keras_dvae.datasets import files
from keras_dvae.datasets.base import Dataset
from keras_dvae.utils import checks

RAW_FILE = "omniglot_raw.npz"
SOURCE_SIZE = 105
IMAGE_SHAPE = (28, 28)
TRAIN_DRAWINGS = 15  # drawings 1..15 of every character train, 16..20 test
PARTS = ("background", "evaluation")
#: Drawings of each part (964 and 659 characters × 20 drawers).
ROWS = {"background": 19_280, "evaluation": 13_180}

_LAKE = "https://github.com/brendenlake/omniglot/raw/master/python/"
# No checksum is published for these archives.
REMOTES = tuple(
    files.Remote(f"images_{p}.zip", f"{_LAKE}images_{p}.zip") for p in PARTS
)


def area_weights(n_in, n_out):
    """(n_out, n_in) matrix of 1-D area averaging from n_in to n_out pixels.

    Weight (i, j) is the overlap of [i·s, (i+1)·s) with [j, j+1), over
    s = n_in / n_out; each row sums to 1.
    """
    scale = n_in / n_out
    edges = np.arange(n_out + 1) * scale
    j = np.arange(n_in)[None, :]
    overlap = np.minimum(edges[1:, None], j + 1) - np.maximum(edges[:-1, None], j)
    return (np.clip(overlap, 0.0, None) / scale).astype("float32")


def resize_area(images, size):
    """Area-averaging resize of square images `(n, h, h)` → `(n, size, size)`.

    Partly covered pixels get fractional weights, as OpenCV's INTER_AREA
    (PIL's `Image.BOX` weights whole pixels). Returns float32 in [0, 1].
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
                raise ValueError(
                    f"{path}: `x_{part}` has shape {(n, d)}; the documented "
                    f"dataset has 105x105 images, ({n}, {SOURCE_SIZE**2})."
                )
            if packed.shape != (n, (d + 7) // 8):
                raise ValueError(
                    f"{path}: `x_{part}` of packed shape {packed.shape} does not "
                    f"hold the {n}x{d} matrix of `shape_{part}`."
                )
            # In chunks: the whole unpacked 105×105 set would take ~350 MB.
            for start in range(0, n, 2048):
                chunk = packed[start : start + 2048]
                ink = files.unpack_bits(chunk, (len(chunk), d))
                ink = ink.reshape(-1, SOURCE_SIZE, SOURCE_SIZE)
                small = resize_area(ink, IMAGE_SHAPE[0])
                grey[start : start + len(chunk)] = small.reshape(len(chunk), -1)
            keys = ("alphabet", "alphabet_names", "character", "drawer", "label")
            parts[part] = {"x": grey, **{key: z[f"{key}_{part}"] for key in keys}}
            parts[part]["shape"] = (n, d)
    return parts


def load(data_dir=None, *, download=True, verify=None, validation_size=1345, seed=0):
    """Omniglot 28×28 grey levels, as a `Dataset` for dynamic binarisation.

    The 32,460 original 105×105 drawings (1,623 characters × 20 drawers,
    background and evaluation sets) resized by `resize_area`. Per
    character, drawings 1-15 train (24,345) and 16-20 test (8,115);
    `validation_size` training images (`np.random.default_rng([seed, 0])`)
    are held out as `x_valid`, leaving 23,000 as in VampPrior. NOT the IWAE
    `chardata` split or resize: numbers are not directly comparable with
    published ones. Labels are the characters 0..1622, named in
    `class_names`; rows in path order. The resized arrays are cached.

    Args:
        data_dir, download, verify: see `keras_dvae.datasets.load`; the files
            are `omniglot_raw.npz`, or Lake's two
            `images_{background,evaluation}.zip` to convert.
        validation_size: training images held out as `x_valid`, ≥ 0.
        seed: seed of the validation choice and of the one-off binarisation.

    References:
        B. M. Lake, R. Salakhutdinov and J. B. Tenenbaum, "Human-level
        concept learning through probabilistic program induction", Science
        2015. Y. Burda, R. Grosse and R. Salakhutdinov, "Importance weighted
        autoencoders", ICLR 2016.
    """
    validation_size = checks.check_positive_int(
        "validation_size", validation_size, minimum=0
    )
    seed = checks.check_positive_int("seed", seed, minimum=0)
    found = files.fetch(
        "omniglot",
        (RAW_FILE,),
        data_dir,
        download,
        verify,
        remotes=REMOTES,
        convert=_convert_zips,
    )
    stat = found.path.stat()
    parts = _resized(str(found.path.resolve()), stat.st_size, stat.st_mtime_ns)
    shapes, expected = {}, {}
    for part, n in ROWS.items():
        shapes[f"x_{part}"] = parts[part]["shape"]
        expected[f"x_{part}"] = (n, SOURCE_SIZE**2)
        for key in ("drawer", "label"):
            shapes[f"{key}_{part}"] = parts[part][key].shape
            expected[f"{key}_{part}"] = (n,)
    files.check_shapes(found.path, shapes, expected, verify)

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
    if validation_size >= len(train):
        raise ValueError(
            f"`validation_size` must be < {len(train)}. "
            f"Received: validation_size={validation_size}"
        )
    held = np.zeros(len(train), bool)
    rng = np.random.default_rng([seed, 0])
    held[rng.choice(len(train), validation_size, replace=False)] = True
    notes = (
        "Omniglot (Lake et al. 2015), all 1,623 characters x 20 drawings, resized "
        "from the original 105x105 binary images to 28x28 by AREA AVERAGING "
        "(fractional coverage, as OpenCV INTER_AREA), grey levels in [0, 1], "
        "row-major, ink = 1, for DYNAMIC binarization (Dataset.train_batches). "
        "Split per character: drawings 1-15 train (24,345), 16-20 test (8,115); "
        f"{validation_size} train images chosen by np.random.default_rng([{seed}, 0]) "
        f"held out as valid, leaving {len(train) - validation_size} train. x_valid / "
        f"x_test binarized ONCE with np.random.default_rng([{seed}, 1]) / "
        f"([{seed}, 2]). NOT the IWAE chardata split or resize (24,345 / 8,070): "
        "numbers are not directly comparable with published Omniglot results. Rows "
        f"grouped by character. Loaded from {found.path} ({found.kind} copy)."
    )
    return Dataset.dynamic(
        "omniglot",
        grey,
        label,
        {
            "train": train[~held],
            "valid": train[held],
            "test": np.flatnonzero(drawer > TRAIN_DRAWINGS),
        },
        seed,
        image_shape=IMAGE_SHAPE,
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
            ink = []
            for m in matches:
                with Image.open(io.BytesIO(archive.read(m.string))) as image:
                    # Mode "1" with white background = 1; ink = 1 here.
                    ink.append(1 - np.asarray(image.convert("1"), np.uint8))
            ink = np.stack(ink)
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

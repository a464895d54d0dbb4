"""Caltech-101 Silhouettes 28×28, split 1 (Marlin et al. 2010)."""

import numpy as np

from keras_dvae.datasets import files
from keras_dvae.datasets.base import SPLITS, Dataset

FILE = "caltech101_silhouettes.npz"
IMAGE_SHAPE = (28, 28)
#: Rows of each split, and classes.
ROWS = {"train": 4100, "valid": 2264, "test": 2307}
NUM_CLASSES = 101
# Variable names in Marlin's MATLAB file, per split.
_MAT_SPLITS = {"train": "train", "valid": "val", "test": "test"}

# No checksum is published (the data README records that of a copy, not
# compared with the origin).
REMOTE = files.Remote(
    "caltech101_silhouettes_28_split1.mat",
    "https://people.cs.umass.edu/~marlin/data/caltech101_silhouettes_28_split1.mat",
)


def to_ink_row_major(x):
    """Marlin's `(n, 784)` 0/1 rows (1 = background, column-major) → float32
    `1 − x`, each image transposed: row-major, silhouette = 1."""
    images = 1 - np.asarray(x).reshape(-1, 28, 28).transpose(0, 2, 1)
    return images.reshape(len(images), -1).astype("float32")


def load(data_dir=None, *, download=True, verify=None):
    """Caltech-101 Silhouettes 28×28: 4,100 / 2,264 / 2,307 binary images.

    Marlin's split 1, rows in the file's order, converted like MNIST
    (`to_ink_row_major`), as in VampPrior. Labels are 0-based (source
    1..101 minus 1), named in `class_names`.

    Args:
        data_dir, download, verify: see `keras_dvae.datasets.load`; the files
            are `caltech101_silhouettes.npz`, or Marlin's
            `caltech101_silhouettes_28_split1.mat` to convert (needs scipy).

    References:
        B. Marlin, K. Swersky, B. Chen and N. de Freitas, "Inductive
        principles for restricted Boltzmann machine learning", AISTATS 2010.
    """
    found = files.fetch(
        "caltech101_silhouettes",
        (FILE,),
        data_dir,
        download,
        verify,
        remotes=(REMOTE,),
        convert=_convert_mat,
    )
    with np.load(found.path) as z:
        bits = {
            s: files.unpack_bits(z[f"x_{s}"], z[f"shape_{s}"], f"{found.path}: x_{s}")
            for s in SPLITS
        }
        y = {s: z[f"y_{s}"].astype("int64") - 1 for s in SPLITS}
        class_names = tuple(str(name) for name in z["classnames"])
    files.check_shapes(
        found.path,
        {
            **{f"x_{s}": bits[s].shape for s in SPLITS},
            **{f"y_{s}": y[s].shape for s in SPLITS},
            "classnames": (len(class_names),),
        },
        {
            **{f"x_{s}": (n, IMAGE_SHAPE[0] * IMAGE_SHAPE[1]) for s, n in ROWS.items()},
            **{f"y_{s}": (n,) for s, n in ROWS.items()},
            "classnames": (NUM_CLASSES,),
        },
        verify,
    )
    x = {s: to_ink_row_major(bits[s]) for s in SPLITS}
    notes = (
        "Caltech-101 Silhouettes 28x28, split 1 (Marlin et al. 2010): 4,100 train "
        "/ 2,264 valid / 2,307 test in the file's order. The source's 1 = "
        "background / 0 = silhouette and column-major layout are INVERTED and "
        "TRANSPOSED here: x is row-major with silhouette (ink) = 1, as MNIST. "
        "Labels 0-based (source label - 1), names in class_names. "
        f"Loaded from {found.path} ({found.kind} copy)."
    )
    return Dataset.from_splits(
        "caltech101_silhouettes",
        x,
        y,
        image_shape=IMAGE_SHAPE,
        binary=True,
        notes=notes,
        class_names=class_names,
    )


def _convert_mat(sources, out):
    """Marlin's MATLAB file → the `caltech101_silhouettes.npz` layout."""
    try:
        from scipy.io import loadmat
    except ImportError as error:  # scipy is not a core dependency
        raise ImportError(
            "Reading caltech101_silhouettes_28_split1.mat needs scipy: "
            "pip install scipy"
        ) from error
    mat = loadmat(sources[REMOTE.fname])
    arrays = {}
    for split, key in _MAT_SPLITS.items():
        x = np.asarray(mat[f"{key}_data"]).astype(np.uint8)
        arrays[f"x_{split}"] = np.packbits(x, axis=-1)
        arrays[f"shape_{split}"] = np.array(x.shape, np.int64)
        arrays[f"y_{split}"] = np.asarray(mat[f"{key}_labels"]).ravel().astype(np.uint8)
    # A MATLAB cell array of strings: each cell is a 1-element string array.
    arrays["classnames"] = np.array(
        [str(np.asarray(c).ravel()[0]) for c in np.asarray(mat["classnames"]).ravel()]
    )
    np.savez_compressed(out, **arrays)

"""Sample grids (prior samples, test images, reconstructions) and PNGs."""

import numpy as np

from keras_dvae.utils.checks import check_positive_int
from keras_dvae.utils.files import atomic_path


def grid_image(rows, image_shape, scale=None):
    """Rows of images (each a list of flat arrays in [0, 1]) as one uint8 image.

    Ink (1) is drawn black on white, colour images as they are, with one
    pixel of padding between images.

    Args:
        rows: lists of arrays of `prod(image_shape)` values in [0, 1].
        image_shape: (H, W) or (H, W, C).
        scale: int ≥ 1, pixel repeat; default about 128 pixels an image.

    Example:

    >>> import numpy as np
    >>> grid_image([[np.zeros(4), np.ones(4)]], (2, 2), scale=1).shape
    (4, 7)
    """
    height, width = image_shape[:2]
    colour = len(image_shape) == 3 and image_shape[2] == 3
    shape = (height, width, 3) if colour else (height, width)
    pad = 1
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    canvas = np.ones(
        (n_rows * (height + pad) + pad, n_cols * (width + pad) + pad, *shape[2:])
    )
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            top, left = pad + i * (height + pad), pad + j * (width + pad)
            image = np.reshape(image, shape)
            canvas[top : top + height, left : left + width] = (
                image if colour else 1.0 - image
            )
    scale = scale or max(1, 256 // max(height, width) // 2)
    image = (np.clip(canvas, 0, 1) * 255).astype("uint8")
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def sample_grid(model, data, n=16):
    """The `grid_image` of `n` prior samples of `model`, `n` evenly spaced
    test images of the `Dataset` `data` (some test sets are sorted by label)
    and their reconstructions."""
    import keras

    n = check_positive_int("n", n)
    x = data.x_test[np.linspace(0, len(data.x_test) - 1, n).astype(int)]
    samples = keras.ops.convert_to_numpy(model.generate(n))
    recon = keras.ops.convert_to_numpy(model.reconstruct(x))
    # 8-bit images (CIFAR-10) are drawn as values in [0, 1].
    shown = x / 255.0 if x.dtype == np.uint8 else x
    return grid_image([list(samples), list(shown), list(recon)], data.image_shape)


def write_png(image, path):
    """Writes a uint8 image (H, W) or (H, W, 3) as a PNG, atomically."""
    from PIL import Image

    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(image)).save(tmp, format="PNG")

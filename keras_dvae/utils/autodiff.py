"""Gradients inside a loss: the library's one backend-specific file.

`keras.ops` has no gradient operator, and the REBAR and RELAX estimators
need one inside `compute_loss`: their control variates are tuned to
minimise the variance of a gradient estimate, so that estimate must be a
tensor the training step can differentiate again. This module is the only
place in `keras_dvae/` that imports a backend (`ARCHITECTURE.md`: one
explicitly backend-specific file, tested on every backend).
"""

import keras


def gradient(fn, x):
    """∂ Σ fn(x) / ∂x, itself differentiable with respect to what `fn` reads.

    Args:
        fn: a function of a tensor `x`, returning a tensor (summed).
        x: the tensor to differentiate with respect to; treated as a
            constant (its own gradient is stopped).

    Returns:
        A tensor shaped like `x`. The training step can differentiate it
        with respect to the variables `fn` reads (second-order terms).

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> x = ops.convert_to_tensor(np.array([1.0, 2.0], "float32"))
    >>> g = gradient(lambda v: v * v, x)      # 2x
    >>> ops.convert_to_numpy(g).tolist()
    [2.0, 4.0]
    """
    backend = keras.backend.backend()
    x = keras.ops.stop_gradient(keras.ops.convert_to_tensor(x))
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return jax.grad(lambda v: jnp.sum(fn(v)))(x)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(fn(x))
        return tape.gradient(total, x)
    if backend == "torch":
        import torch

        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            total = torch.sum(fn(x))
            (result,) = torch.autograd.grad(total, x, create_graph=True)
        return result
    raise NotImplementedError(
        f"`gradient` supports the jax, tensorflow and torch backends. "
        f"Received: backend {backend!r}"
    )

"""Keeps Keras from importing TensorFlow on the JAX and torch backends.

Keras asks `tf.available` (which imports TensorFlow when it is installed)
in `keras.utils.set_random_seed` and in `serialize_keras_object`, on every
backend, to seed `tf.data` and to recognise TensorFlow objects. On JAX or
torch that import costs seconds and, with TensorFlow 2.21, prints absl,
oneDNN and CUDA lines that no environment variable silences. A program that
uses TensorFlow has imported it already, so after `defer_tensorflow()`
Keras's probe answers "available" only once `tensorflow` is in
`sys.modules`: nothing changes for programs that use it.
"""

import sys

import keras


def defer_tensorflow():
    """Makes Keras's TensorFlow probe lazy on other backends; True if it did.

    Does nothing on the TensorFlow backend, or if this Keras has no such
    probe (its internals changed).

    Example:

    >>> import keras
    >>> defer_tensorflow() == (keras.backend.backend() != "tensorflow")
    True
    """
    if keras.backend.backend() == "tensorflow":
        return False
    try:
        from keras.src.utils import module_utils
    except ImportError:  # another Keras layout: leave it alone
        return False
    probe = getattr(module_utils, "tensorflow", None)
    base = type(probe)
    if getattr(base, "deferred_by_keras_dvae", False):
        return True
    if not isinstance(getattr(base, "available", None), property):
        return False

    class DeferredModule(base):
        deferred_by_keras_dvae = True

        @property
        def available(self):
            return "tensorflow" in sys.modules and base.available.fget(self)

    probe.__class__ = DeferredModule
    return True

"""The piecewise-constant learning rate of the reference recipe."""

import keras

from keras_dvae.utils import checks

#: Fractions of training where the rate changes, and the multipliers of the
#: base rate on each piece (DVAE# reference code; REFERENCE §4).
RECIPE_BOUNDARIES = (0.02, 0.60, 0.75, 0.95)
RECIPE_MULTIPLIERS = (1 / 10, 1.0, 1 / 3, 1 / 10, 1 / 33)


def reference_learning_rate(total_steps, base_learning_rate=3e-3):
    """Learning-rate schedule of the DVAE/DVAE++/DVAE# reference recipe.

    base × [1/10, 1, 1/3, 1/10, 1/33], switching at 2%, 60%, 75% and 95% of
    `total_steps` (int ≥ 1), as a Keras `PiecewiseConstantDecay` (so it
    serialises with the optimizer).

    Example:

    >>> import keras
    >>> schedule = reference_learning_rate(total_steps=1_000_000)
    >>> optimizer = keras.optimizers.Adam(schedule, epsilon=1e-3)
    """
    total_steps = checks.check_positive_int("total_steps", total_steps)
    base = checks.check_positive_finite("base_learning_rate", base_learning_rate)
    boundaries = [max(1, int(round(f * total_steps))) for f in RECIPE_BOUNDARIES]
    for i in range(1, len(boundaries)):  # tiny runs: keep them increasing
        boundaries[i] = max(boundaries[i], boundaries[i - 1] + 1)
    return keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries, [base * m for m in RECIPE_MULTIPLIERS]
    )

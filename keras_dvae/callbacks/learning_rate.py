"""The piecewise-constant learning rate of the reference recipe."""

import keras

from keras_dvae.utils import checks

#: Fractions of training where the rate changes, and the multipliers of the
#: base rate on each piece (DVAE# reference code; METHODS.md §4).
RECIPE_BOUNDARIES = (0.02, 0.60, 0.75, 0.95)
RECIPE_MULTIPLIERS = (1 / 10, 1.0, 1 / 3, 1 / 10, 1 / 33)


def reference_learning_rate(total_steps, base_learning_rate=3e-3, start_step=0):
    """Learning-rate schedule of the DVAE/DVAE++/DVAE# reference recipe.

    base × [1/10, 1, 1/3, 1/10, 1/33], switching at 2%, 60%, 75% and 95% of
    `total_steps` (int ≥ 1), as a Keras `PiecewiseConstantDecay` (so it
    serialises with the optimizer). `start_step` shifts it for an optimizer
    whose step counter starts at 0 in the middle of a run (a continued
    preset's fresh Adam): its step t gets the rate of step `start_step` + t.

    Example:

    >>> import keras
    >>> schedule = reference_learning_rate(total_steps=1_000_000)
    >>> optimizer = keras.optimizers.Adam(schedule, epsilon=1e-3)
    """
    total_steps = checks.check_positive_int("total_steps", total_steps)
    base = checks.check_positive_finite("base_learning_rate", base_learning_rate)
    start = checks.check_positive_int("start_step", start_step, minimum=0)
    boundaries = [max(1, int(round(f * total_steps))) for f in RECIPE_BOUNDARIES]
    for i in range(1, len(boundaries)):  # tiny runs: keep them increasing
        boundaries[i] = max(boundaries[i], boundaries[i - 1] + 1)
    values = [base * m for m in RECIPE_MULTIPLIERS]
    # Step t ≤ b gets the piece before b: shifted, the pieces that ended
    # before `start` are dropped.
    first = next((i for i, b in enumerate(boundaries) if b >= start), len(boundaries))
    boundaries = [b - start for b in boundaries[first:]] or [0]
    values = values[first:] + ([values[-1]] if first == len(RECIPE_BOUNDARIES) else [])
    return keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)

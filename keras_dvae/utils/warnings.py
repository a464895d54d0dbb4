"""The package's warning category."""


class KerasDVAEWarning(UserWarning):
    """Warnings issued by keras_dvae (tests turn them into errors)."""

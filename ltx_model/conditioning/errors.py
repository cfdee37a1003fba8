"""Errors raised by conditioning items."""


class ConditioningError(ValueError):
    """A conditioning input does not fit the latent state (wrong shape, index outside the clip, bad mask...)."""

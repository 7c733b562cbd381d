"""The exceptions gconv raises for arguments it rejects."""

__all__ = ["GroupsError", "ShapeError", "BackendError"]


class GroupsError(ValueError):
    """``groups`` does not split the channels into whole, equal groups."""


class ShapeError(ValueError):
    """A shape, stride, padding, dilation or size that cannot be convolved."""


class BackendError(RuntimeError):
    """An unknown backend, or one that is not available here."""

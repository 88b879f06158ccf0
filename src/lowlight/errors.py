"""Exceptions whose message is meant for the user: the CLI prints it on one line, no traceback."""

from __future__ import annotations


class LowlightError(Exception):
    """Base class of the errors lowlight reports to users."""


class ImageReadError(LowlightError):
    """A file could not be read as an image (missing, empty, corrupt, truncated, too large...)."""


class ImageWriteError(LowlightError):
    """An output image could not be written."""


class CheckpointError(LowlightError):
    """A weights file is unreadable or does not fit the model."""


class UnknownModelError(LowlightError, KeyError):
    """No model is registered under that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DatasetError(LowlightError):
    """A data folder has no usable images, unmatched pairs or an unknown layout."""


class ConfigError(LowlightError):
    """A training or evaluation config has an unknown key, a wrong type or a bad value."""


class TrainingError(LowlightError):
    """Training cannot go on (non-finite loss, unusable checkpoint, bad distributed setup)."""

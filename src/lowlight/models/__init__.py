"""Model architectures; importing this package registers every variant."""

from lowlight.models import classical, darkir
from lowlight.models.darkir import DarkIR

__all__ = ["DarkIR", "classical", "darkir"]

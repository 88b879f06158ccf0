"""Model architectures; importing this package registers every variant."""

from lowlight.models import classical, darkir, fsidnet
from lowlight.models.darkir import DarkIR
from lowlight.models.fsidnet import FSIDNet

__all__ = ["DarkIR", "FSIDNet", "classical", "darkir", "fsidnet"]

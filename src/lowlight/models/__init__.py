"""Model architectures; importing this package registers every variant."""

from lowlight.models import classical, darkir, fsidnet, lucentvision, zero_dce
from lowlight.models.darkir import DarkIR
from lowlight.models.fsidnet import FSIDNet
from lowlight.models.lucentvision import LucentVisionNet
from lowlight.models.zero_dce import ZeroDCE

__all__ = [
    "DarkIR",
    "FSIDNet",
    "LucentVisionNet",
    "ZeroDCE",
    "classical",
    "darkir",
    "fsidnet",
    "lucentvision",
    "zero_dce",
]

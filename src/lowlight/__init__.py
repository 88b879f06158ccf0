"""lowlight: low-light image enhancement and restoration (DarkIR, FSIDNet, LucentVisionNet, baselines)."""

from lowlight._version import __version__
from lowlight.errors import LowlightError
from lowlight.registry import create_model, list_models, model_info

__all__ = ["LowlightError", "__version__", "create_model", "enhance", "list_models", "model_info"]


def __getattr__(name: str):  # lazy: keep ``import lowlight`` light for the CLI
    if name == "enhance":
        from lowlight.inference.api import enhance

        return enhance
    raise AttributeError(f"module 'lowlight' has no attribute {name!r}")

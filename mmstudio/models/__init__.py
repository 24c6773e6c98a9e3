"""Models: FusionNet, fusion strategies, checkpoints, the registry and the model protocol.

Names are imported lazily so that ``mmstudio.models.registry`` (used to list models
in the window's menu) does not pull in torch before the window is up.
"""

from importlib import import_module

_EXPORTS = {
    "FUSION_STRATEGIES": "mmstudio.models.config",
    "FusionConfig": "mmstudio.models.config",
    "FusionNet": "mmstudio.models.fusionnet",
    "load_checkpoint": "mmstudio.models.checkpoint",
    "save_checkpoint": "mmstudio.models.checkpoint",
    "describe_device": "mmstudio.models.device",
    "pick_device": "mmstudio.models.device",
    "ModelEntry": "mmstudio.models.registry",
    "get_model": "mmstudio.models.registry",
    "list_models": "mmstudio.models.registry",
    "register_model": "mmstudio.models.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mmstudio.models' has no attribute {name!r}")

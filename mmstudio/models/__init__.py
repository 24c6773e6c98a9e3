"""Models: FusionNet, fusion strategies, checkpoints, the registry and the model protocol.

Names are imported lazily so that ``mmstudio.models.registry`` (used to list models
in the window's menu) does not pull in torch before the window is up.
"""

from mmstudio.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

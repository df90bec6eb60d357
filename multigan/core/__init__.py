"""The adversarial core: contract, trainer, losses, EMA, checkpoints, config, runtime, logging.

The core never imports a modality adapter (image, text, video) nor PyAV.
"""

from multigan.core.adapter import Adapter, LossOutput, Phase
from multigan.core.errors import ConfigError, MultiganError

__all__ = ["Adapter", "ConfigError", "LossOutput", "MultiganError", "Phase"]

"""Fine-tuning a student model: settings (``config``), estimates (``estimate``), the resumable
runner (``runner``, run as ``python -m lumina.train RUN_DIR``) and its launch command
(``launch_cmd``, accelerate for several GPUs).

Heavy libraries (torch, transformers, TRL, PEFT) load inside the functions that need them, so
importing this package is cheap for the app.
"""

from lumina.train.config import PRESETS, TrainConfig, from_preset, validate
from lumina.train.estimate import Estimate, estimate
from lumina.train.runner import TrainResult, train

__all__ = ["PRESETS", "Estimate", "TrainConfig", "TrainResult", "estimate", "from_preset", "train", "validate"]

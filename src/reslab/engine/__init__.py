"""How a model is trained and evaluated: configs, the loop, optimizers, checkpoints, metrics."""

from reslab.engine.checkpoint import CheckpointManager, load_checkpoint
from reslab.engine.config import Config, load_config
from reslab.engine.evaluate import EvalResult, evaluate, run_eval
from reslab.engine.trainer import Run, train

__all__ = [
    "CheckpointManager",
    "Config",
    "EvalResult",
    "Run",
    "evaluate",
    "load_checkpoint",
    "load_config",
    "run_eval",
    "train",
]

"""reslab: deep residual networks (He et al. 2015, 2016) as one model family, with training,
evaluation and the paper's experiments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "train", "evaluate", "predict"]

if TYPE_CHECKING:  # pragma: no cover
    from reslab.engine import evaluate, train
    from reslab.inference import predict


def __getattr__(name: str) -> Any:
    # Lazy so that `import reslab` stays cheap and the CLI starts fast.
    if name in ("train", "evaluate"):
        from reslab import engine

        return getattr(engine, name)
    if name == "predict":
        from reslab import inference

        return inference.predict
    raise AttributeError(f"module 'reslab' has no attribute {name!r}")

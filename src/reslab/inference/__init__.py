"""Using a trained model: load it from a run, classify image files, export it.

>>> from reslab import inference
>>> for p in inference.predict("runs/mnist", ["digit.png"], topk=3):
...     print(inference.format_prediction(p))
>>> inference.export("runs/mnist", "mnist.onnx", format="onnx").max_abs_diff
"""

from reslab.inference.export import FORMATS, MAX_ABS_DIFF, ExportFormat, ExportResult, export
from reslab.inference.loading import load_for_inference
from reslab.inference.predict import Prediction, format_prediction, predict

__all__ = [
    "FORMATS",
    "MAX_ABS_DIFF",
    "ExportFormat",
    "ExportResult",
    "Prediction",
    "export",
    "format_prediction",
    "load_for_inference",
    "predict",
]

"""`reslab bench`: speed, memory and FLOP/s utilisation of reslab's training and evaluation,
as ratios against a plain eager reference timed in the same run.

>>> from reslab.bench import run_cases, suite
>>> rows = run_cases(suite("smoke"))  # doctest: +SKIP
>>> rows[0].ratio  # doctest: +SKIP

Importing this package does not import torch: the measurements run in worker processes.
"""

from reslab.bench.runner import BenchError, run_cases
from reslab.bench.spec import Case, Row, Target, gpu_suite, suite

__all__ = ["BenchError", "Case", "Row", "Target", "gpu_suite", "run_cases", "suite"]

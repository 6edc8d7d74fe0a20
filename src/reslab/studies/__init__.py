"""The paper's experiments, each one function that writes results.json (and resumes)."""

from reslab.studies.degradation import DegradationConfig, run_degradation
from reslab.studies.demo import DemoConfig, run_demo
from reslab.studies.gradients import GradientsConfig, run_gradients
from reslab.studies.responses import ResponsesConfig, run_responses
from reslab.studies.table6 import Table6Config, run_table6

__all__ = [
    "DegradationConfig",
    "DemoConfig",
    "GradientsConfig",
    "ResponsesConfig",
    "Table6Config",
    "run_degradation",
    "run_demo",
    "run_gradients",
    "run_responses",
    "run_table6",
]

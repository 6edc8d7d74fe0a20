import os

import pytest
import torch

# The CLI's tables follow COLUMNS off a terminal; tests read them at the default width.
os.environ.pop("COLUMNS", None)

# Test tensors are tiny: one thread avoids OpenMP barrier stalls, which make thousands of tiny
# ops (resnet1202 at 8x8) 100x slower whenever another process shares the 2 cores.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)

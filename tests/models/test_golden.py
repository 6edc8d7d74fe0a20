"""Golden outputs: a few logits of seeded models on a seeded input, stored small.

Regenerate on purpose only: RESLAB_REGEN_GOLDEN=1 pytest tests/models/test_golden.py
"""

import json
import os
from pathlib import Path

import pytest
import torch

from reslab import models

GOLDEN = Path(__file__).parent / "golden" / "logits.json"
CASES = {
    "resnet20": {},
    "resnet20_B": {"shortcut": "B"},
    "plain20": {},
    "preact_resnet110": {},
    "resnet18": {},
    "resnet50": {},
    "resnet50_v1": {"stride_on": "1x1"},
    "preact_resnet18": {},
}


def _logits(case: str) -> list[float]:
    name = case.split("_B")[0].split("_v1")[0]
    torch.manual_seed(0)
    model = models.create(name, num_classes=7, **CASES[case]).eval()
    size = 32 if model.spec.family == "cifar" else 64
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    # BN in eval mode uses running stats; give them non-trivial values so they matter.
    gen = torch.Generator().manual_seed(2)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(1 + torch.rand(m.num_features, generator=gen))
    with torch.no_grad():
        return [round(v, 6) for v in model(x)[0].tolist()]


def test_regenerate_golden_only_on_purpose():
    if os.environ.get("RESLAB_REGEN_GOLDEN") != "1":
        assert GOLDEN.is_file(), "golden file missing: run with RESLAB_REGEN_GOLDEN=1 once"
        return
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({c: _logits(c) for c in CASES}, indent=1) + "\n")


@pytest.mark.parametrize("case", list(CASES))
def test_golden_logits(case):
    expected = json.loads(GOLDEN.read_text())[case]
    got = _logits(case)
    assert len(got) == 7
    torch.testing.assert_close(torch.tensor(got), torch.tensor(expected), atol=1e-4, rtol=1e-4)

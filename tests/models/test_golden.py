"""Golden outputs: a few logits of seeded models on a seeded input, stored small.

The logits are computed in float64, so the stored values do not depend on the CPU's fp32
kernels (AVX2 and AVX-512 sum in different orders). Regenerate on purpose only:
RESLAB_REGEN_GOLDEN=1 pytest tests/models/test_golden.py
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
    model, x = model.double(), x.double()
    # BN in eval mode uses running stats; set them from one training-mode pass over a seeded
    # batch, so that they matter and every stage keeps a live signal. (Arbitrary stats, such as
    # uniform means with variances above 1, silence deep nets: ResNet-50's last stages were all
    # zeros, its logits were the classifier's bias, and the v1 and v1.5 cases were identical.)
    batch = torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(2))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 1.0
    with torch.no_grad():
        model.train()(batch.double())
    model.eval()
    with torch.no_grad():
        return [float(v) for v in model(x)[0].tolist()]


def test_regenerate_golden_only_on_purpose():
    if os.environ.get("RESLAB_REGEN_GOLDEN") != "1":
        assert GOLDEN.is_file(), "golden file missing: run with RESLAB_REGEN_GOLDEN=1 once"
        return
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({c: _logits(c) for c in CASES}, indent=1) + "\n")


@pytest.mark.parametrize("case", list(CASES))
def test_golden_logits(case):
    expected = json.loads(GOLDEN.read_text())[case]
    assert len(set(map(tuple, json.loads(GOLDEN.read_text()).values()))) == len(CASES)
    got = _logits(case)
    assert len(got) == 7
    # Float64 evaluation: each logit is a chain of at most ~110 layers of sums of at most
    # K = 9 * 512 = 4608 products (a 3x3 conv at 512 channels). The worst-case rounding bound
    # of such a sum is K * 2**-53 ~ 5e-13 relative, ~6e-11 over the depth; eval-mode BN and the
    # fixed running statistics are scale-preserving, so 1e-9 of the logits' scale leaves a
    # margin of ~20x for kernels that sum in any order, and any change to what the model
    # computes (a layer moved, a BN dropped) is many orders of magnitude larger.
    scale = max(abs(v) for v in expected)
    torch.testing.assert_close(
        torch.tensor(got, dtype=torch.float64),
        torch.tensor(expected, dtype=torch.float64),
        rtol=0,
        atol=1e-9 * scale,
    )

"""reslab's ImageNet nets are torchvision's: same keys, shapes and outputs."""

import pytest
import torch
import torchvision

from reslab import models


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_torchvision_state_dict_loads_strict_and_outputs_agree(depth, tmp_path):
    tv = getattr(torchvision.models, f"resnet{depth}")(weights=None).eval()
    ours = models.create(f"resnet{depth}").eval()
    tv_state = tv.state_dict()
    assert list(ours.state_dict()) == list(tv_state)
    assert all(ours.state_dict()[k].shape == v.shape for k, v in tv_state.items())
    ours.load_state_dict(tv_state, strict=True)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), tv(x), atol=1e-5, rtol=1e-5)
    # The same through a file, the way users load torchvision's downloads.
    path = tmp_path / "tv.pth"
    torch.save(tv_state, path)
    fresh = models.create(f"resnet{depth}").eval()
    models.load_weights(fresh, path)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), tv(x), atol=1e-5, rtol=1e-5)

import pytest
import torch

from reslab import models
from reslab.models.blocks import PadShortcut


def _small_input(model, batch):
    size = 8 if model.spec.family == "cifar" else 32
    return torch.randn(batch, model.in_channels, size, size)


# Plain nets of 1000+ layers explode their gradients at initialisation (plain-110 already
# reaches ~1e8 at the first conv): in fp32 they overflow, in fp64 they stay finite (~1e94).
# That is the paper's point, not a bug, so those two are checked in float64.
EXPLODING = {"plain1202", "preact_plain1001"}


@pytest.mark.parametrize("name", models.list_models())
def test_forward_backward_gives_finite_grads(name):
    model = models.create(name, num_classes=7)
    batch = 2  # training-mode BN needs more than one value per channel at 1x1 maps
    x = _small_input(model, batch)
    if name in EXPLODING:
        model, x = model.double(), x.double()
    out = model(x)
    assert out.shape == (batch, 7)
    out.logsumexp(1).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"


@pytest.mark.parametrize("name", ["resnet20", "resnet18", "resnet50", "preact_resnet164"])
def test_features_only_returns_every_stage(name):
    model = models.create(name, features_only=True).eval()
    assert model.fc is None
    size = 32 if model.spec.family == "cifar" else 64
    feats = model(torch.randn(1, 3, size, size))
    assert [f.shape[1] for f in feats] == model.stage_channels
    strides = [size // f.shape[-1] for f in feats]
    base = 1 if model.spec.family == "cifar" else 4
    assert strides == [base * 2**i for i in range(len(feats))]


def test_one_channel_input_digits_shape():
    model = models.create("resnet20", in_channels=1, num_classes=10)
    assert model(torch.randn(4, 1, 8, 8)).shape == (4, 10)
    assert model.conv1.in_channels == 1


@pytest.mark.parametrize("name", ["resnet20", "resnet50", "preact_resnet110"])
def test_zero_init_residual_makes_blocks_identity(name):
    model = models.create(name, zero_init_residual=True).eval()
    block = model.blocks()[1]  # a block without a shape change
    x = torch.randn(1, block.conv1.in_channels, 8, 8).relu()
    assert torch.allclose(block(x), x, atol=1e-6)


def test_option_a_keeps_identity_in_middle_channels():
    sc = PadShortcut(16, 32, stride=2)
    x = torch.randn(2, 16, 8, 8)
    y = sc(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2])
    assert y[:, :8].abs().sum() == 0 and y[:, 24:].abs().sum() == 0


def test_plain_block_has_no_shortcut_path():
    plain = models.create("plain20").eval()
    block = plain.blocks()[1]
    assert not block.residual and block.downsample is None
    with torch.no_grad():
        block.bn2.weight.zero_()
        block.bn2.bias.zero_()
    x = torch.randn(1, 16, 8, 8).relu()
    assert block(x).abs().sum() == 0  # nothing of x survives without a shortcut


def test_stride_on_1x1_moves_the_stride():
    v1 = models.create("resnet50", stride_on="1x1")
    first = v1.layer2[0]
    assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1)
    v15 = models.create("resnet50")
    assert v15.layer2[0].conv1.stride == (1, 1) and v15.layer2[0].conv2.stride == (2, 2)


def test_option_c_projects_every_block():
    model = models.create("resnet18", shortcut="C")
    assert all(b.downsample is not None for b in model.blocks())


def test_kaiming_init_scale():
    model = models.create("resnet56")
    w = model.layer2[1].conv1.weight
    expected_std = (2.0 / (w.shape[0] * 9)) ** 0.5  # fan_out, ReLU gain
    assert abs(w.std().item() / expected_std - 1) < 0.1


def test_response_modules_cover_every_3x3_layer():
    model = models.create("resnet20")
    # stem + two per basic block
    assert len(model.response_modules()) == 1 + 2 * 9
    assert len(models.create("preact_resnet164").response_modules()) == 1 + 54


def test_activation_checkpointing_gives_same_gradients():
    torch.manual_seed(1)
    a = models.create("resnet20")
    b = models.create("resnet20", activation_checkpointing=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 3, 16, 16)
    a(x).sum().backward()
    b(x).sum().backward()
    for (n, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-5), n

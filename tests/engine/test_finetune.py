"""Fine-tuning: start from other weights with a fresh head, optionally frozen stages."""

import torch

from reslab import models
from reslab.engine import train


def test_finetune_from_rgb_checkpoint_with_new_head_and_frozen_stage(tmp_path):
    torch.manual_seed(3)
    source = models.create("resnet20", num_classes=100)  # e.g. CIFAR-100 weights, RGB
    ckpt = tmp_path / "cifar100.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in source.state_dict().items()}}, ckpt)
    run = train(
        "digits_resnet20",
        [
            "train.iterations=6",
            "train.eval_every=6",
            "train.tensorboard=false",
            "train.progress=false",
            f"model.pretrained={ckpt}",
            "model.freeze_stages=1",
            f"out_dir={tmp_path}",
            "name=ft",
        ],
    )
    assert run.status == "completed"
    tuned = models.create("resnet20", num_classes=10, in_channels=1)
    models.load_weights(tuned, run.weights)
    # frozen stem and first stage: exactly the source weights (stem summed to one channel)
    torch.testing.assert_close(tuned.conv1.weight, source.conv1.weight.sum(1, keepdim=True))
    assert torch.equal(tuned.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    # trained stages moved, and the head is new (10 classes)
    assert not torch.equal(tuned.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    assert tuned.fc.weight.shape == (10, 64)

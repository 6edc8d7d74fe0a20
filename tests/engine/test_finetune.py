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


def _tiny(tmp_path, name, *overrides):
    return [
        "train.iterations=1",
        "train.eval_every=1",
        "train.tensorboard=false",
        "train.progress=false",
        "optim.lr=1e-12",
        "optim.weight_decay=0",
        f"out_dir={tmp_path}",
        f"name={name}",
        *overrides,
    ]


def test_finetuning_says_what_it_adapted_and_keeps_a_head_only_for_the_same_classes(
    tmp_path, capsys
):
    """One line says how the pretrained weights met the run: a digits net (1 channel, classes
    '0'..'9') fine-tuned on ten RGB classes gets its first conv adapted and a new classifier,
    though the head's shape fits (it used to keep digit 0's row as this data's first class,
    silently); weights recording this data's own classes keep theirs."""
    from journeys.datasets import write_image_folder

    classes = tuple(f"c{i}" for i in range(10))
    write_image_folder(tmp_path / "rgb", classes=classes, train=2, val=1, size=(32, 32))
    digits = train("digits_resnet20", _tiny(tmp_path, "digits"))
    folder = ["data.name=folder", f"data.root={tmp_path / 'rgb'}", "data.val_size=0",
              "data.batch_size=10"]  # fmt: skip
    capsys.readouterr()
    first = train(
        "cifar10_resnet20", _tiny(tmp_path, "a", *folder, f"model.pretrained={digits.dir}")
    )
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("model.pretrained"))
    assert "first conv adapted from 1 to 3 input channels" in line, line
    assert "new classifier: the weights' 10 classes (0, 1, 2, ...) are not this data's" in line
    source, tuned = models.read_state_dict(digits.weights), models.read_state_dict(first.weights)
    assert not torch.allclose(tuned["fc.weight"], source["fc.weight"])

    again = train(
        "cifar10_resnet20", _tiny(tmp_path, "b", *folder, f"model.pretrained={first.dir}")
    )
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("model.pretrained"))
    assert line.endswith(": classifier kept (10 classes, the same as the weights')"), line
    kept = models.read_state_dict(again.weights)
    torch.testing.assert_close(kept["fc.weight"], tuned["fc.weight"], atol=1e-9, rtol=0)

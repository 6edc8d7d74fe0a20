"""Under a real two-process gloo group: run_eval counts every sample once, even when the
dataset does not split evenly, and matches one process; the agreement helpers agree; BatchNorm
statistics that differ per process are averaged into one net before it is evaluated."""

from __future__ import annotations

import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from reslab.data import ArrayDataset, AugmentConfig, BatchAugment, DeviceLoader
from reslab.engine import run_eval
from reslab.engine.distributed import (
    DistInfo,
    all_equal,
    average_batchnorm_stats,
    broadcast_flag,
)

pytestmark = pytest.mark.distributed

N = 37  # odd: rank 0 gets 19 samples, rank 1 gets 18


def _model_and_data(rank: int, world: int):
    torch.manual_seed(0)
    # a linear classifier: unlike an untrained ResNet, its answers depend on the input
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    generator = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (N, 1, 8, 8), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (N,), generator=generator)
    data = ArrayDataset(images, labels, [str(i) for i in range(10)], "odd")
    loader = DeviceLoader(
        data,
        5,
        augment=BatchAugment(AugmentConfig(), [100.0 / 255], [80.0 / 255]),
        train=False,
        shuffle=False,
        drop_last=False,
        rank=rank,
        world_size=world,
    )
    return model, loader


def _bn_model(shard: int | None) -> torch.nn.Module:
    """A net with BatchNorm whose running statistics are those of ``shard`` (0 or 1) of the
    data, or their mean (None): what each process of a DDP job holds, and the net it saves."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10),
    )  # fmt: skip
    stats = []
    for r in (0, 1):
        gen = torch.Generator().manual_seed(10 + r)
        stats.append((torch.rand(4, generator=gen) * (r + 1), 0.5 + torch.rand(4, generator=gen)))
    bn = model[1]
    with torch.no_grad():
        pick = [(stats[0][i] + stats[1][i]) / 2 for i in (0, 1)] if shard is None else stats[shard]
        bn.running_mean.copy_(pick[0])
        bn.running_var.copy_(pick[1])
    return model


def _worker(rank: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        info, cpu = DistInfo(rank, 2), torch.device("cpu")
        model, loader = _model_and_data(rank, 2)
        result = run_eval(model, loader, 10, device=cpu, info=info)
        helpers = {
            "flag_from_rank_1": broadcast_flag(rank == 1, info, cpu),
            "flag_from_none": broadcast_flag(False, info, cpu),
            "same_step": all_equal(40, info, cpu),
            "different_steps": all_equal(40 + rank, info, cpu),
        }
        bn_model = _bn_model(rank)
        average_batchnorm_stats(bn_model, info)
        bn_result = run_eval(bn_model, loader, 10, device=cpu, info=info)
        bn = {
            "bn_loss": bn_result.loss,
            "bn_confusion": bn_result.confusion,
            "bn_mean": bn_model[1].running_mean.tolist(),
            "bn_var": bn_model[1].running_var.tolist(),
        }
        with open(f"{out}.{rank}", "w") as f:
            json.dump(
                {**result.as_dict(), **helpers, **bn, "local": len(loader.shard_indices())}, f
            )
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory) -> list[dict]:
    """What each of the two processes computed."""
    tmp = tmp_path_factory.mktemp("gloo")
    mp.spawn(_worker, args=(str(tmp / "store"), str(tmp / "out")), nprocs=2, join=True)
    return [json.loads((tmp / f"out.{rank}").read_text()) for rank in (0, 1)]


@pytest.mark.timeout(120)
def test_run_eval_counts_every_sample_once_over_two_processes(ranks):
    model, loader = _model_and_data(0, 1)
    one = run_eval(model, loader, 10, device=torch.device("cpu"))
    assert [r["local"] for r in ranks] == [19, 18]  # nothing padded
    for two in ranks:
        assert two["count"] == one.count == N
        assert two["confusion"] == one.confusion
        assert two["top1_error"] == one.top1_error and two["top5_error"] == one.top5_error
        assert two["loss"] == pytest.approx(one.loss, rel=1e-6)  # summed in another order
    predicted = torch.tensor(one.confusion).sum(0)
    assert (predicted > 0).sum() > 2  # the model does not answer one class for everything


@pytest.mark.timeout(120)
def test_ranks_agree_on_flags_and_steps(ranks):
    for r in ranks:
        assert r["flag_from_rank_1"] is True and r["flag_from_none"] is False
        assert r["same_step"] is True and r["different_steps"] is False


@pytest.mark.timeout(120)
def test_batchnorm_statistics_are_averaged_into_one_net_before_evaluation(ranks):
    """Each process tracked its own shard's statistics; after the average both processes
    score every image with the one net of mean statistics, the net that one process would."""
    mean = _bn_model(None)
    _, loader = _model_and_data(0, 1)
    one = run_eval(mean, loader, 10, device=torch.device("cpu"))
    assert not torch.equal(_bn_model(0)[1].running_mean, _bn_model(1)[1].running_mean)
    for two in ranks:
        assert two["bn_mean"] == pytest.approx(mean[1].running_mean.tolist(), rel=1e-6)
        assert two["bn_var"] == pytest.approx(mean[1].running_var.tolist(), rel=1e-6)
        assert two["bn_confusion"] == one.confusion
        assert two["bn_loss"] == pytest.approx(one.loss, rel=1e-5)

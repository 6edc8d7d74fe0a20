"""Batches of a dataset held whole on the device: index, augment, yield; no per-sample Python.

Every random choice is a pure function of (seed, epoch) for the sample order and of
(seed, epoch, rank, batch) for augmentation, so resuming at any batch replays exactly the
batches an uninterrupted run would have seen, with no RNG state to save.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator

import torch

from reslab.data.arrays import ArrayDataset
from reslab.data.augment import BatchAugment
from reslab.errors import DataError

_ORDER, _AUGMENT = 0, 1  # stream tags, so the two seeds never coincide


def derive_seed(*parts: int) -> int:
    """A 63-bit seed that depends on every part (stable across runs, platforms and Pythons)."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(int(part).to_bytes(8, "little", signed=True))
    return int.from_bytes(digest.digest(), "little") >> 1


class DeviceLoader:
    """Iterates (x, y) batches of an ArrayDataset held whole on ``device``.

    Sharding over ``world_size`` ranks:
    - train=True: all ranks share the epoch's order; each takes a contiguous block of
      len // world_size samples (the remainder is dropped) so that all ranks run the same
      number of steps.
    - train=False: rank r takes positions r, r + world_size, ... so that over all ranks every
      sample is seen exactly once (shards may differ in size by one).
    """

    def __init__(
        self,
        dataset: ArrayDataset,
        batch_size: int,
        *,
        augment: BatchAugment,
        train: bool,
        shuffle: bool,
        drop_last: bool,
        device: str | torch.device = "cpu",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
    ) -> None:
        if batch_size < 1:
            raise DataError(f"batch_size must be >= 1, got {batch_size}")
        if not 0 <= rank < world_size:
            raise DataError(f"rank {rank} is outside world_size {world_size}")
        self.device = torch.device(device)
        self.dataset = dataset.to(self.device)  # the one host-to-device copy
        self.batch_size = batch_size
        self.augment = augment
        self.train = train
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.channels_last = channels_last
        self.epoch = 0
        n = len(dataset)
        if train:
            self.num_samples = n // world_size
        else:
            self.num_samples = len(range(rank, n, world_size))
        if self.num_samples == 0:
            raise DataError(
                f"{dataset.name} has {n} samples, too few for {world_size} rank(s); "
                "use a larger dataset or fewer ranks"
            )
        self._generator = torch.Generator(device=self.device)

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose order and augmentation the next iteration produces."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.iter_from(0)

    def iter_from(self, start_batch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches ``start_batch`` .. len(self) - 1 of the current epoch, as a full pass yields them."""
        if start_batch < 0:
            raise DataError(f"start_batch must be >= 0, got {start_batch}")
        indices = self.shard_indices()
        images, labels = self.dataset.images, self.dataset.labels
        epoch = self.epoch
        for b in range(start_batch, len(self)):
            batch = indices[b * self.batch_size : (b + 1) * self.batch_size]
            seed = derive_seed(_AUGMENT, self.seed, epoch, self.rank, b)
            self._generator.manual_seed(seed)
            x = self.augment(images.index_select(0, batch), self._generator, self.train, seed=seed)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield x, labels.index_select(0, batch)

    def shard_indices(self) -> torch.Tensor:
        """This rank's sample indices for the current epoch, in order, on the device."""
        n = len(self.dataset)
        if self.shuffle:
            # drawn on the CPU so every rank and every device type gets the same order
            generator = torch.Generator().manual_seed(derive_seed(_ORDER, self.seed, self.epoch))
            order = torch.randperm(n, generator=generator)
        else:
            order = torch.arange(n)
        if self.train:
            shard = order[self.rank * self.num_samples : (self.rank + 1) * self.num_samples]
        else:
            shard = order[self.rank :: self.world_size]
        return shard.to(self.device)  # once per epoch


def shutdown_workers(loader: object) -> None:
    """Stop, now, the worker processes a torch DataLoader keeps between epochs (persistent
    workers). Torch stops them when its iterator is freed; a traceback that holds the iterator
    keeps it alive, and at exit Python waits for every worker. Torch's own shutdown ends a
    worker that does not stop in time with SIGTERM, which reslab's training workers ignore
    (:func:`~reslab.engine.folder_setup.ignore_stop_signals`), so one still alive after it is
    killed. Anything else than a DataLoader with workers is left alone."""
    iterator = getattr(loader, "_iterator", None)  # torch keeps it for persistent workers
    if iterator is None or not hasattr(iterator, "_shutdown_workers"):
        return
    iterator._shutdown_workers()
    for worker in getattr(iterator, "_workers", ()):
        if worker.is_alive():
            worker.kill()
            worker.join()
    loader._iterator = None  # type: ignore[attr-defined]

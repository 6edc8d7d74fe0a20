"""Datasets on disk in their real formats, built once per test session (read-only)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .datasets import write_cifar_archive, write_image_folder, write_mnist_gz


@dataclass(frozen=True)
class OnDisk:
    """A dataset directory as a user would point ``data.root`` at it."""

    root: Path
    test_count: int


@pytest.fixture(scope="session")
def cifar10(tmp_path_factory: pytest.TempPathFactory) -> OnDisk:
    """cifar-10-python.tar.gz: 150 training images (15 a class) and 20 test images."""
    root = tmp_path_factory.mktemp("cifar10_archive")
    return OnDisk(root, write_cifar_archive(root, "cifar10", per_class_train=3, per_class_test=2))


@pytest.fixture(scope="session")
def cifar100(tmp_path_factory: pytest.TempPathFactory) -> OnDisk:
    """cifar-100-python.tar.gz: 300 training images (3 a class) and 100 test images."""
    root = tmp_path_factory.mktemp("cifar100_archive")
    return OnDisk(root, write_cifar_archive(root, "cifar100", per_class_train=3, per_class_test=1))


@pytest.fixture(scope="session")
def mnist(tmp_path_factory: pytest.TempPathFactory) -> OnDisk:
    """MNIST's four gzipped idx files: 200 training and 30 test images."""
    root = tmp_path_factory.mktemp("mnist_idx")
    return OnDisk(root, write_mnist_gz(root, 200, 30))


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> OnDisk:
    """An ImageNet-style folder: 3 classes of 64x48 JPEG/PNG photo crops, 4 train and 2 val
    images each."""
    root = tmp_path_factory.mktemp("imagenet")
    return OnDisk(root, write_image_folder(root))

"""The one line a person sees for a reslab error, also when a DataLoader worker raised it."""

from __future__ import annotations

import pytest
import torch

from reslab.errors import DataError


class _Broken(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> int:
        try:
            raise ValueError("the file's own trouble")
        except ValueError:
            raise DataError("cat/2.png: not a readable image; fix or remove it") from None


def test_an_error_raised_in_a_worker_process_reads_as_the_workers_own_line():
    loader = torch.utils.data.DataLoader(_Broken(), num_workers=1)
    with pytest.raises(DataError) as caught:
        next(iter(loader))
    # torch raises it again here with the worker's traceback as its message
    assert "Traceback" in str(caught.value)
    assert caught.value.line() == "cat/2.png: not a readable image; fix or remove it"


def test_an_error_raised_here_is_its_message():
    assert DataError("x is missing").line() == "x is missing"

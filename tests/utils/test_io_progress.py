"""Atomic writes keep the umask's permissions; the progress bar never runs past its total."""

from __future__ import annotations

import os
import stat

import pytest

from reslab.utils.io import atomic_open, write_json
from reslab.utils.progress import ProgressBar


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_get_the_permissions_of_any_new_file(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        with atomic_open(tmp_path / "b.bin") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    for name in ("a.json", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_a_resumed_bar_starts_part_way_and_stops_at_its_total(capsys):
    bar = ProgressBar(2000, "train", enabled=True, log_every_s=0, start=34)
    bar._interactive = False  # plain log lines, as off a terminal
    bar.advance_to(50)
    bar.advance_to(2100)  # a last log line after the end never shows more than the total
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("train: 50/2000") and "left" in lines[0]
    assert all("/2000" in line and not line.startswith("train: 2034") for line in lines)
    assert bar.completed == 2000

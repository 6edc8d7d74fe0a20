"""`reslab predict` over a thousand images of mixed sizes, a few of them corrupt: a line for
every image, and memory that stays bounded: a thousand images peak no higher than one does,
give or take a few images' worth. The peaks are printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .harness import TRACEBACK

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

GROWTH_LIMIT_MB = 256
"""A thousand images may peak this much above one image: a few decoded images and their
batches, far below the ~1,000 x 0.3 MB they would take if they piled up."""

# Run `python -m reslab ARGS` and write the process's own peak resident memory (VmHWM, in kB)
# to a file at exit. getrusage/wait4 cannot be used: a child's ru_maxrss starts at its parent's
# RSS at fork (Linux keeps the larger across exec), so under pytest it reports pytest's peak.
_MEASURED = """
import atexit, runpy, sys
report, sys.argv = sys.argv[1], ["reslab", *sys.argv[2:]]
def _write():
    status = open("/proc/self/status").read()
    open(report, "w").write(status.split("VmHWM:")[1].split()[0])
atexit.register(_write)
runpy.run_module("reslab", run_name="__main__", alter_sys=True)
"""


def write_images(folder, n: int, n_bad: int) -> tuple[list[str], set[str]]:
    rng = np.random.default_rng(7)
    folder.mkdir()
    paths, bad = [], set()
    for i in range(n):
        if i % (n // n_bad) == n // n_bad - 1 and len(bad) < n_bad:
            path = folder / f"{i:04d}.{('png', 'jpg')[i % 2]}"
            path.write_bytes([b"", b"not an image", b"\xff\xd8\xff\xe0" + b"\0" * 40][i % 3])
            bad.add(str(path))
        else:
            h, w = (int(v) for v in rng.integers(1, 320, size=2))
            path = folder / f"{i:04d}.{('png', 'jpg')[i % 2]}"
            mode = ("RGB", "L")[i % 3 == 0]
            shape = (4, 4, 3) if mode == "RGB" else (4, 4)
            coarse = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
            coarse.resize((w, h), Image.NEAREST).save(path)  # blocky: quick to encode
        paths.append(str(path))
    return paths, bad


def peak_rss_mb(args: list[str], stdout, stderr, report: Path) -> tuple[int, float]:
    """Run ``reslab ARGS``; return its exit code and its own peak RSS in MB."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", _MEASURED, str(report), *args]
    code = subprocess.run(command, stdout=stdout, stderr=stderr, env=env).returncode
    return code, int(report.read_text()) / 1024


@pytest.mark.timeout(300)
def test_predict_on_a_thousand_mixed_images_in_bounded_memory(digits_run, tmp_path):
    paths, bad = write_images(tmp_path / "images", 1000, 12)
    predict = ["predict", str(digits_run), "--topk", "1"]
    with (tmp_path / "stdout.txt").open("w") as out, (tmp_path / "stderr.txt").open("w") as err:
        code, peak_mb = peak_rss_mb([*predict, *paths], out, err, tmp_path / "peak_all")
    _, one_image_mb = peak_rss_mb(
        [*predict, paths[0]], subprocess.DEVNULL, subprocess.DEVNULL, tmp_path / "peak_one"
    )
    print(
        f"reslab predict: peak RSS {peak_mb:.0f} MB for {len(paths)} images, "
        f"{one_image_mb:.0f} MB for one (most of it is importing torch)"
    )
    assert code == 1  # some files could not be read
    stdout = (tmp_path / "stdout.txt").read_text().splitlines()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert not TRACEBACK.search(stderr)
    good = [p for p in paths if p not in bad]
    assert [line.split(": ")[0] for line in stdout] == good  # in input order
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    assert sorted(line.split(": error: ")[0] for line in errors) == sorted(bad)
    assert peak_mb - one_image_mb < GROWTH_LIMIT_MB  # images stream through, not pile up

"""`reslab demo --quick`: the main job's whole path, from nothing to a report."""

import subprocess
import sys

import pytest


@pytest.mark.timeout(900)  # about 30 s on an idle 2-core machine; far more on a busy one
def test_quick_demo_writes_report(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "reslab", "demo", "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    demo = tmp_path / "demo-quick"
    html = demo / "report.html"
    assert f"report: {html.resolve()}" in proc.stdout
    text = html.read_text()
    assert text.count("data:image/png;base64,") >= 4  # figures are embedded
    for study in ("degradation", "gradients", "responses"):
        assert (demo / study / "results.json").is_file()
    assert (demo / "report.md").is_file()

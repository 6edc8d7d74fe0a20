"""`reslab demo --quick`: the main job's whole path, from nothing to a report, and again."""

import json
import subprocess
import sys

import pytest


def _demo(out):
    return subprocess.run(
        [sys.executable, "-m", "reslab", "demo", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.timeout(1200)  # about a minute on an idle 2-core machine; far more on a busy one
def test_quick_demo_writes_report_then_reuses_its_nets(tmp_path):
    proc = _demo(tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    demo = tmp_path / "demo-quick"
    html = demo / "report.html"
    assert f"report: {html.resolve()}" in proc.stdout
    assert "training 8 nets" in proc.stdout and "ETA" in proc.stdout  # one overall line
    text = html.read_text()
    assert text.count("data:image/png;base64,") >= 4  # figures are embedded
    for study in ("degradation", "gradients", "responses"):
        assert (demo / study / "results.json").is_file()
    assert (demo / "report.md").is_file()
    # 60 iterations are too short to converge: no claim can be judged, and the report says so
    deg = json.loads((demo / "degradation" / "results.json").read_text())
    claims = deg["verdict"]["claims"]
    assert {c["status"] for c in claims.values()} == {"cannot be judged"}
    assert claims["degradation"]["reason"] == "short_run"
    assert "too short for the deep nets to converge" in text

    again = _demo(tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("reusing ") == 8 and "training 8 nets" not in again.stdout

"""`reslab demo --quick`: the main job's whole path, from nothing to a report, and again."""

import json
import subprocess
import sys

import pytest


def _demo(out, *args):
    return subprocess.run(
        [sys.executable, "-m", "reslab", "demo", "--quick", "--out", str(out), *args],
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

    # again, in Chinese: the nets are reused, and the demo's own lines are in the report's words
    again = _demo(tmp_path, "--lang", "zh")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("reusing ") == 8 and "training 8 nets" not in again.stdout
    for line in (
        "[1/4] 退化研究",
        "[2/4] 梯度流",
        "[3/4] 训练后网络的层响应",
        "[4/4] 报告",
        "演示完成",
    ):
        assert line in again.stdout, again.stdout
    assert "degradation study" not in again.stdout and "demo finished" not in again.stdout
    assert (demo / "report.zh.html").is_file()

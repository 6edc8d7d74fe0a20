"""Find and read the results.json files that reslab's studies write."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reslab.errors import ReslabError

RESULTS_NAME = "results.json"

STUDY_ORDER: tuple[str, ...] = ("degradation", "responses", "gradients", "table6")
"""The order studies appear in a report; studies not named here come last."""


@dataclass(frozen=True)
class StudyResult:
    """One study's stored results and where they came from."""

    study: str
    data: dict[str, Any]
    source: Path
    key: str
    """A name unique within the report (used for figure file names)."""


def find_results(run_dir: Path) -> list[Path]:
    """``run_dir/results.json`` and ``run_dir/*/results.json``, in a stable order."""
    found = [run_dir / RESULTS_NAME] if (run_dir / RESULTS_NAME).is_file() else []
    found += sorted(p for p in run_dir.glob(f"*/{RESULTS_NAME}") if p.is_file())
    return found


def load_studies(run_dir: str | Path) -> list[StudyResult]:
    """Read every study under ``run_dir``, ordered degradation, responses, gradients, table6."""
    run_dir = Path(run_dir)
    paths = find_results(run_dir) if run_dir.is_dir() else []
    if not paths:
        raise ReslabError(
            f"{run_dir} holds no study results ({RESULTS_NAME}); produce them with "
            "`reslab study degradation` or `reslab demo`"
        )
    loaded = [(p, _read(p)) for p in paths]
    rank = {name: i for i, name in enumerate(STUDY_ORDER)}
    loaded.sort(key=lambda item: rank.get(item[1]["study"], len(STUDY_ORDER)))

    seen: dict[str, int] = {}
    studies = []
    for path, data in loaded:
        name = data["study"]
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name}{seen[name]}"
        studies.append(StudyResult(study=name, data=data, source=path, key=key))
    return studies


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReslabError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("study"), str):
        raise ReslabError(f"{path} is not a reslab study result (no 'study' field)")
    return data

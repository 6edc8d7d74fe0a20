"""The README's CLI examples stay true: every line parses as a reslab command, every recipe it
names is shipped, and every config override it shows is a valid key."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from reslab.cli import build_parser
from reslab.engine.config import load_config, resolve_recipe_path

README = Path(__file__).resolve().parents[1] / "README.md"


def _cli_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## CLI\s+```bash\n(.*?)```", text, re.S).group(1)
    lines = [line.split(" #")[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith("reslab ")]


def test_the_readme_shows_the_commands_users_run():
    commands = {shlex.split(c)[1] for c in _cli_examples()}
    assert {"train", "eval", "predict", "export", "study", "demo"} - commands <= {"demo"}


@pytest.mark.parametrize("line", _cli_examples())
def test_each_example_parses_and_names_real_recipes_and_keys(line):
    argv = shlex.split(line)[1:]
    args, extra = build_parser().parse_known_args(argv)
    assert all("=" in e and not e.startswith("-") for e in extra), extra
    if args.command == "train":
        recipe = resolve_recipe_path(Path(README.parent / args.config).as_posix())
        overrides = [*args.overrides, *extra]
        # data.root=~/data need not exist to be a valid key; a wrong key or value raises here
        load_config(recipe, [o for o in overrides if not o.startswith("model.pretrained=")])

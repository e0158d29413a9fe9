"""Every `$ jiedian …` line of the README, run in order as a new user would, on a fresh
SQLite home: none may print a traceback, and those the README shows working must exit 0.

Lines that name files the reader is meant to write (demo.yaml, hejiang-edited.yaml) or
placeholders ([--note …]) may end with a clear error, never a traceback.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# Lines whose files or arguments the reader supplies: a clear error is the right answer here.
USER_SUPPLIED = ("demo.yaml", "hejiang-edited.yaml", "[--note")
NEEDS_SHARED = "../shared/"


def readme_commands() -> list[tuple[str, bool]]:
    """(command, refused) for the `$ jiedian …` lines inside the README's console blocks,
    comments dropped; ``refused`` when the README shows it answering ``error: …``."""
    commands, in_console = [], False
    lines = README.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("```"):
            in_console = line.strip() == "```console"
            continue
        if in_console and line.startswith("$ jiedian "):
            refused = i + 1 < len(lines) and lines[i + 1].startswith("error:")
            commands.append((re.sub(r"\s+#.*$", "", line[2:]).strip(), refused))
    return commands


def test_the_readme_has_commands() -> None:
    commands = readme_commands()
    assert len(commands) >= 20 and any(c.startswith("jiedian plan extract") for c, _ in commands)
    assert any(refused for _, refused in commands)


@pytest.mark.skipif(not (ROOT.parent / "shared" / "seeds").is_dir(), reason="../shared is not beside the project")
def test_every_readme_command_runs_without_a_traceback(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JIEDIAN_")},
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "COLUMNS": "200",
        "JIEDIAN_HOME": str(tmp_path / "home"),
        "JIEDIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'readme.db'}",
        "JIEDIAN_NOW": "2026-12-01T09:00",
    }
    work = tmp_path / "work"
    work.mkdir()
    for name in ("plans", "tests"):  # the README's paths are relative to the checkout
        (work / name).symlink_to(ROOT / name)
    (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    failures = []
    for command, refused in readme_commands():
        argv = shlex.split(command)
        argv[0] = str(Path(sys.executable).parent / "jiedian")
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        said = done.stdout + done.stderr
        supplied = any(marker in command for marker in USER_SUPPLIED)
        if refused and not (done.returncode != 0 and said.lstrip().startswith("error:")):
            failures.append(f"{command}: the README shows it refused; exit {done.returncode}\n{said[-400:]}")
        elif "Traceback" in said or (done.returncode != 0 and not (supplied or refused)):
            failures.append(f"{command}: exit {done.returncode}\n{said[-800:]}")
    assert not failures, "\n\n".join(failures)

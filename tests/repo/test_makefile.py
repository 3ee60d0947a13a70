"""`make help` lists every target the Makefile declares, each with its one line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_every_phony_target_with_a_description() -> None:
    make = shutil.which("make")
    assert make is not None
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    result = subprocess.run([make, "-C", str(ROOT), "help"], capture_output=True, text=True, env=env, check=True)
    listed = dict(re.findall(r"^  (\S+) +(\S.*)$", result.stdout, re.MULTILINE))
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert phony is not None
    assert sorted(listed) == sorted(phony.group(1).split())
    assert {"setup", "lock", "test", "deploy", "help"} <= listed.keys()
    assert all(len(line) > 10 for line in listed.values())


def test_make_alone_prints_the_help() -> None:
    make = shutil.which("make")
    assert make is not None
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    result = subprocess.run([make, "-C", str(ROOT)], capture_output=True, text=True, env=env, check=True)
    assert "  lock " in result.stdout

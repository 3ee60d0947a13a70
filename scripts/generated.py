"""What the scripts that generate a file of docs/ share: Markdown table cells, and writing or checking the file.

Each generated file has a test that it is not stale; `--check` is the same test from the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path


def cell(text: str) -> str:
    """Text on one line of a table cell: a | would end the cell, a < could start an HTML tag."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "\\<")


def code(text: str) -> str:
    """Inline code on one line of a table cell, fenced so that a backtick inside it does not end it."""
    fence = "``" if "`" in text else "`"
    return fence + " ".join(text.split()).replace("|", "\\|") + fence


def write_or_check(output: Path, text: str, *, check: bool, stale: str) -> int:
    """Write `text` to `output`, or with `check` exit status 1 and the `stale` line when the file differs."""
    if check:
        if not output.is_file() or output.read_text(encoding="utf-8") != text:
            print(stale, file=sys.stderr)
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    return 0

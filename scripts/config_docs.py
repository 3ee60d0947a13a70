"""Generate docs/configuration.md, the reference of every `genai` setting, from its declaration in stacks/config.py.

Each setting is declared once there (what it allows, its default in each profile, what it is for), so this page
cannot drift from what synth accepts: `python -m scripts.config_docs` writes the file, and with `--check` exits 1
if the committed file is not what it generates (the tests check that too).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from scripts.generated import cell, write_or_check
from stacks.config import CONTEXT_KEY, AppConfig, DeniedTopic, Record, Records, Setting, Table, settings_of

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "configuration.md"
COMMAND = ".venv/bin/python -m scripts.config_docs"

INTRO = f"""\
# Configuration reference

<!-- Generated from the declarations in stacks/config.py by `{COMMAND}`: edit those, not this file. -->

Every setting lives under one context key, `{CONTEXT_KEY}`, in `cdk.json`. Pick a profile and set what you need;
every setting left out takes the default of the profile. On the command line, override one setting with
`-c {CONTEXT_KEY}.<key>=<value>` (the value is read as JSON when it is JSON, else as text), or give the whole object
as JSON:

```sh
npx cdk synth -c {CONTEXT_KEY}.profile=prod -c {CONTEXT_KEY}.network.max_azs=2
npx cdk synth -c '{CONTEXT_KEY}={{"profile": "prod", "network": {{"egress": "nat"}}}}'
```

A bad value stops synth with one line that names the key, the value and what is allowed, for example
`config error: network.max_azs=5 is not an integer from 1 to 3`. Unknown keys are errors too.

Defaults are JSON; `same` means prod keeps the dev default. Rows whose key has `[]` or `<name>` describe the items
of the list or object above them; with no default, each item must give the value.
"""
TOPICS = "Each `[[topic]]` table of the TOML file that `guardrail.denied_topics_file` names."


def code(value: Any) -> str:
    return "`" + json.dumps(value).replace("|", "\\|") + "`"


def defaults(spec: Setting) -> str:
    """The dev and prod cells: JSON, `same` where prod does not differ, empty where there is no default."""
    dev, prod = spec.defaults["dev"], spec.defaults["prod"]
    if dev is None and not spec.constraint.check(None):
        return " | "
    return f"{code(dev)} | " + ("same" if prod == dev else code(prod))


def rows(cls: type, prefix: str) -> Iterator[str]:
    """One table row per setting of `cls`, followed by rows for the items of its lists and objects."""
    for spec in settings_of(cls).values():
        constraint = spec.constraint
        if isinstance(constraint, Record):
            continue
        yield f"| `{prefix}{spec.key}` | {cell(constraint.allowed)} | {defaults(spec)} | {cell(spec.help)} |"
        if isinstance(constraint, Records):
            yield from rows(constraint.item.cls, f"{prefix}{spec.key}[].")
        elif isinstance(constraint, Table) and isinstance(constraint.item, Record):
            yield from rows(constraint.item.cls, f"{prefix}{spec.key}.<name>.")


def table(title: str, about: str, cls: type, prefix: str) -> Iterator[str]:
    """A heading, a sentence and a table of the settings of `cls`."""
    yield f"\n## {title}\n\n{about}\n"
    yield "| Setting | Allowed | `dev` | `prod` | What it does |"
    yield "| --- | --- | --- | --- | --- |"
    yield from rows(cls, prefix)


def sections(cls: type, prefix: str, title: str, about: str) -> Iterator[str]:
    """The table of `cls`, then one for each section nested in it."""
    yield from table(title, about, cls, prefix)
    for spec in settings_of(cls).values():
        if isinstance(spec.constraint, Record):
            key = prefix + spec.key
            yield from sections(spec.constraint.cls, key + ".", f"`{key}`", spec.help)


def render() -> str:
    """The whole page."""
    return (
        "\n".join(
            [
                INTRO.rstrip("\n"),
                *sections(AppConfig, "", "Top level", "The profile, the environment, and what applies to both stacks."),
                *table("Denied topics file", TOPICS, DeniedTopic, "[[topic]] "),
            ]
        )
        + "\n"
    )


def main(argv: Sequence[str] | None = None, *, output: Path = OUTPUT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not what this script generates")
    args = parser.parse_args(argv)
    stale = f"{output} is out of date with stacks/config.py; run {COMMAND}"
    return write_or_check(output, render(), check=args.check, stale=stale)


if __name__ == "__main__":
    sys.exit(main())

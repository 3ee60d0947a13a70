"""What deploying the working tree would change in the stacks of a git ref, offline: `make template-diff BASE=<ref>`.

Both sides are synthesized with the project's pinned CDK CLI and virtualenv: the base ref in a temporary git
worktree, the working tree as it is (uncommitted changes included), each with its own cdk.json. Per stack it
prints the resources added, removed, replaced and changed, then the CDK CLI's own diff against the base template
(IAM statements, security groups, every changed property). Exits 1, with one line per resource, when a stateful
resource would be replaced or removed (unless --allow-replace), and 2 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "node_modules" / ".bin" / "cdk"
# The base worktree borrows these from the working tree: the pinned virtualenv and CLI, and the Lambda package
# cache (its directories are named by their content, so both sides can share it).
SHARED = (".venv", "node_modules", ".build")
CLI_FLAGS = ("--no-color", "--no-notices", "--no-ec2creds")

# What a stateful resource holds. Replacing or removing one of the gated types loses that, or leaves the stack on
# an empty new one; the others are reported but never gated: their replacement is recoverable or expected.
HOLDS = {
    "AWS::S3::Bucket": "its objects",
    "AWS::S3Vectors::VectorBucket": "its indexes and their vectors",
    "AWS::S3Vectors::Index": "its vectors",
    "AWS::OpenSearchServerless::Collection": "its indexes and their vectors",
    "AWS::OpenSearchServerless::Index": "its vectors",
    "AWS::Bedrock::KnowledgeBase": "its data sources and ingestion history",
    "AWS::DynamoDB::Table": "its items",
    "AWS::KMS::Key": "the only means to decrypt what it encrypted",
    "AWS::BedrockAgentCore::Memory": "the agent's memory of every conversation",
    "AWS::Cognito::UserPool": "its users, their passwords and MFA devices",
    "AWS::Bedrock::DataSource": "its ingestion history (every document is ingested again)",
    "AWS::Logs::LogGroup": "its events",
}
NOT_GATED = {"AWS::Bedrock::DataSource", "AWS::Logs::LogGroup"}
IGNORED_TYPES = {"AWS::CDK::Metadata"}
ATTRIBUTES = ("Type", "DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "UpdatePolicy")
KEPT_ON_DELETE = {"Retain", "RetainExceptOnCreate", "Snapshot"}
KEPT_ON_REPLACE = {"Retain", "Snapshot"}
MARKERS = {"added": "[+]", "removed": "[-]", "replaced": "[-/+]", "changed": "[~]"}
# The CLI's verdict on a resource it updates, on the resource's own line: "[~] TYPE PATH ID replace".
CLI_VERDICT = re.compile(r"^\[~\] (?P<type>\S+) (?:.* )?(?P<id>\S+) (?P<verdict>may be replaced|replace)$")
SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}")


class RunError(RuntimeError):
    """The comparison could not be made: a bad ref, a failed synth or a failed CLI diff."""


@dataclass(frozen=True)
class Change:
    """What happens to one resource."""

    kind: str  # added, removed, replaced or changed
    logical_id: str
    type: str
    path: str
    details: tuple[str, ...] = ()
    kept: bool = False  # the old resource stays in the account, no longer managed

    def line(self) -> str:
        separator = "; " if self.kind == "replaced" else ", "
        details = f": {separator.join(self.details)}" if self.details else ""
        return f"{MARKERS[self.kind]} {self.type} {self.path or '-'} {self.logical_id}{details}"


@cache
def create_only_properties(type_: str) -> tuple[str, ...]:
    """The create-only properties of `type_` (JSON pointers) in CloudFormation's registry schema, via cfn-lint."""
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_)
    except ResourceNotFoundError:
        return ()
    return tuple(schema.schema.get("createOnlyProperties", ()))


def _at(value: Any, parts: Sequence[str]) -> Any:
    """The value at a schema pointer's parts (`*` for every item), None where there is none."""
    if not parts:
        return value
    head, *rest = parts
    if head == "*":
        if isinstance(value, list):
            return [_at(item, rest) for item in value]
        return {key: _at(item, rest) for key, item in value.items()} if isinstance(value, dict) else None
    return _at(value[head], rest) if isinstance(value, dict) and head in value else None


def _property(resource: Mapping[str, Any], pointer: str) -> Any:
    return _at(resource.get("Properties", {}), pointer.split("/")[2:])


def _name(pointer: str) -> str:
    return ".".join(pointer.split("/")[2:])


def references(value: Any) -> set[str]:
    """The logical ids `value` refers to through Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= set(SUB_REFERENCE.findall(str(text)))
                if isinstance(item, list) and len(item) > 1:
                    found |= references(item[1])
            else:
                found |= references(item)
    return {name for name in found if not name.startswith("AWS::")}


def _resources(template: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") not in IGNORED_TYPES
    }


def _path(resource: Mapping[str, Any]) -> str:
    return str(resource.get("Metadata", {}).get("aws:cdk:path", ""))


def _replacements(
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    cli_verdicts: Mapping[str, str],
    create_only: Callable[[str], Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    """Why each resource kept under its logical id is replaced: a new type, a changed create-only property (or
    one that refers to a replaced resource), or the CDK CLI's own verdict."""
    common = sorted(old.keys() & new.keys())
    replaced: dict[str, tuple[str, ...]] = {}
    for logical_id in common:
        before, after = old[logical_id], new[logical_id]
        reasons = []
        if before["Type"] != after["Type"]:
            reasons.append(f"its type was {before['Type']}")
        else:
            changed = [
                _name(pointer)
                for pointer in create_only(after["Type"])
                if _property(before, pointer) != _property(after, pointer)
            ]
            if changed:
                reasons.append(f"create-only {', '.join(changed)} changed")
        if logical_id in cli_verdicts:
            reasons.append(f"the CDK CLI says {cli_verdicts[logical_id]}")
        if reasons:
            replaced[logical_id] = tuple(reasons)
    growing = True
    while growing:
        growing = False
        for logical_id in (i for i in common if i not in replaced):
            resource = new[logical_id]
            for pointer in create_only(resource["Type"]):
                targets = sorted(references(_property(resource, pointer)) & replaced.keys())
                if targets:
                    replaced[logical_id] = (f"create-only {_name(pointer)} refers to {targets[0]}, which is replaced",)
                    growing = True
                    break
    return replaced


def compare(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    *,
    cli_verdicts: Mapping[str, str] | None = None,
    create_only: Callable[[str], Sequence[str]] = create_only_properties,
) -> list[Change]:
    """What deploying `head` over `base` does to each resource, in the order added, removed, replaced, changed."""
    old, new = _resources(base), _resources(head)
    replaced = _replacements(old, new, cli_verdicts or {}, create_only)
    changes = [Change("added", i, new[i]["Type"], _path(new[i])) for i in sorted(new.keys() - old.keys())]
    changes += [
        Change("removed", i, old[i]["Type"], _path(old[i]), kept=old[i].get("DeletionPolicy") in KEPT_ON_DELETE)
        for i in sorted(old.keys() - new.keys())
    ]
    for logical_id in sorted(replaced):
        resource = new[logical_id]
        kept = old[logical_id].get("UpdateReplacePolicy") in KEPT_ON_REPLACE
        changes.append(Change("replaced", logical_id, resource["Type"], _path(resource), replaced[logical_id], kept))
    for logical_id in sorted(old.keys() & new.keys() - replaced.keys()):
        keys = _changed_keys(old[logical_id], new[logical_id])
        if keys:
            resource = new[logical_id]
            changes.append(Change("changed", logical_id, resource["Type"], _path(resource), keys))
    return changes


def _changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """The properties and resource attributes whose values differ."""
    old, new = before.get("Properties", {}), after.get("Properties", {})
    properties = sorted(key for key in old.keys() | new.keys() if old.get(key) != new.get(key))
    return (*properties, *(key for key in ATTRIBUTES if before.get(key) != after.get(key)))


def cli_verdicts(output: str) -> dict[str, str]:
    """The resources the CDK CLI's diff says are replaced, by logical id, in its words."""
    verdicts = {}
    for line in output.splitlines():
        match = CLI_VERDICT.match(line)
        if match:
            verdicts[match["id"]] = "it requires replacement" if match["verdict"] == "replace" else "it may be replaced"
    return verdicts


def judge(stack: str, changes: Sequence[Change]) -> tuple[list[str], list[str]]:
    """One line per stateful resource replaced or removed: (gated, not gated)."""
    gated: list[str] = []
    noted: list[str] = []
    for change in changes:
        holds = HOLDS.get(change.type)
        if holds is None or change.kind not in ("replaced", "removed"):
            continue
        where = f"{stack}: {change.type} {change.logical_id} ({change.path or 'no construct path'})"
        if change.kind == "replaced":
            fate = (
                f"the old one is kept with {holds}, unused" if change.kept else f"the old one is deleted with {holds}"
            )
            line = f"{where} would be REPLACED ({'; '.join(change.details)}): {fate}"
        else:
            fate = f"kept with {holds}, no longer managed" if change.kept else f"deleted with {holds}"
            line = f"{where} would be REMOVED: {fate}"
        (noted if change.type in NOT_GATED else gated).append(line)
    return gated, noted


@dataclass(frozen=True)
class Stack:
    """A stack of a cloud assembly."""

    name: str
    stack_name: str
    template: Path

    def read(self) -> dict[str, Any]:
        return dict(json.loads(self.template.read_text(encoding="utf-8")))


def read_stacks(outdir: Path) -> dict[str, Stack]:
    """The stacks of the cloud assembly in `outdir`, in the manifest's (deployment) order."""
    manifest = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))
    stacks = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") == "aws:cloudformation:stack":
            properties = artifact.get("properties", {})
            name = artifact.get("displayName", artifact_id)
            stacks[name] = Stack(name, properties.get("stackName", artifact_id), outdir / properties["templateFile"])
    return stacks


def offline_environment(environ: Mapping[str, str], scratch: Path) -> dict[str, str]:
    """`environ` without AWS credentials, profiles, configuration or instance metadata.

    The CLI looks up the default account on every run, `diff --template` and synths of a cloud assembly
    included, and calls STS with whatever credentials it finds.
    """
    env = {name: value for name, value in environ.items() if not name.startswith(("AWS_", "CDK_"))}
    env.update(
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="true",
    )
    return env


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RunError(f"git {' '.join(args)} failed: {_tail(result.stderr)}")
    return result.stdout.strip()


def resolve(root: Path, ref: str) -> str:
    """The commit `ref` names in the repository at `root`."""
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except RunError:
        raise RunError(f"BASE={ref} is not a commit of the repository at {root}") from None


@contextmanager
def worktree(root: Path, commit: str, directory: Path) -> Iterator[Path]:
    """A detached worktree of `commit` at `directory` with the shared directories linked in, removed on exit."""
    _git(root, "worktree", "add", "--detach", str(directory), commit)
    links = []
    try:
        for name in SHARED:
            source, link = root / name, directory / name
            if source.exists() and not link.exists():
                link.symlink_to(source.resolve(), target_is_directory=True)
                links.append(link)
        yield directory
    finally:
        for link in links:
            link.unlink()  # before git deletes the worktree's untracked files, so never what a link points to
        _git(root, "worktree", "remove", "--force", str(directory))


Synthesizer = Callable[[Path, Path], None]


def cdk_synth(context: Sequence[str], env: Mapping[str, str]) -> Synthesizer:
    """Synthesize the app of a tree into an output directory with the pinned CLI and `--context` items."""

    def run(tree: Path, outdir: Path) -> None:
        command = [str(CLI), "synth", "--quiet", *CLI_FLAGS, "--output", str(outdir)]
        for item in context:
            command += ["--context", item]
        result = subprocess.run(command, cwd=tree, env=dict(env), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RunError(f"cdk synth failed in {tree}:\n{_tail(result.stdout + result.stderr)}")

    return run


def cdk_diff(head: Path, stack: str, base_template: Path, env: Mapping[str, str]) -> str:
    """The CLI's offline diff of `stack` in the assembly `head` against a template file."""
    command = [str(CLI), "diff", "--app", str(head), "--template", str(base_template), "--exclusively", stack]
    result = subprocess.run(
        [*command, *CLI_FLAGS],
        cwd=head,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RunError(f"cdk diff of {stack} failed:\n{_tail(result.stdout)}")
    return result.stdout


def cli_details(output: str) -> list[str]:
    """The CLI's diff without its stack heading and closing count, which the section already gives."""
    lines = [line.rstrip() for line in output.splitlines()]
    lines = [line for line in lines if not line.startswith(("Stack ", "✨", "There were no differences"))]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def section(stack: Stack, changes: Sequence[Change], output: str) -> list[str]:
    """A stack's heading, one line per resource that changes, then the CLI's details."""
    counts = {kind: sum(change.kind == kind for change in changes) for kind in MARKERS}
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count) or "no changes"
    lines = [f"== {stack.name} ({stack.stack_name}): {summary}", *(f"  {change.line()}" for change in changes)]
    details = cli_details(output) if changes else []
    return [*lines, *([""] if details else []), *details, ""]


def run(root: Path, ref: str, *, allow_replace: bool, synth: Synthesizer, env: Mapping[str, str], scratch: Path) -> int:
    commit = resolve(root, ref)
    print(f"template-diff: {ref} ({commit[:12]}) -> the working tree", flush=True)
    with worktree(root, commit, scratch / "base") as tree, ThreadPoolExecutor(2) as pool:
        synths = [pool.submit(synth, tree, scratch / "base.out"), pool.submit(synth, root, scratch / "head.out")]
        for future in synths:
            future.result()
    base, head = read_stacks(scratch / "base.out"), read_stacks(scratch / "head.out")
    empty = scratch / "empty.template.json"
    empty.write_text("{}", encoding="utf-8")
    with ThreadPoolExecutor(2) as pool:
        diffs = {
            name: pool.submit(cdk_diff, scratch / "head.out", name, base[name].template if name in base else empty, env)
            for name in head
        }
        outputs = {name: future.result() for name, future in diffs.items()}
    gated: list[str] = []
    noted: list[str] = []
    for name in [*head, *(name for name in base if name not in head)]:
        stack = head.get(name) or base[name]
        before = base[name].read() if name in base else {}
        after = head[name].read() if name in head else {}
        output = outputs.get(name, "")
        changes = compare(before, after, cli_verdicts=cli_verdicts(output))
        print("\n".join(section(stack, changes, output)), flush=True)
        stack_gated, stack_noted = judge(name, changes)
        gated += stack_gated
        noted += stack_noted
    for line in noted:
        print(f"template-diff: note: {line}")
    if gated and not allow_replace:
        for line in gated:
            print(f"template-diff: FAIL: {line}")
        print(
            f"template-diff: {len(gated)} stateful resource(s) would be replaced or removed; "
            "if that is intended, run again with ALLOW_REPLACE=1"
        )
        return 1
    for line in gated:
        print(f"template-diff: allowed by ALLOW_REPLACE=1: {line}")
    if not gated:
        print("template-diff: no stateful resource would be replaced or removed")
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    root: Path = ROOT,
    environ: Mapping[str, str] = os.environ,
    synthesizer: Callable[[Sequence[str], Mapping[str, str]], Synthesizer] = cdk_synth,
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="the git ref to compare with (default: HEAD)")
    parser.add_argument("--allow-replace", action="store_true", help="exit 0 even when stateful resources go")
    parser.add_argument(
        "--context", "-c", action="append", default=[], metavar="KEY=VALUE", help="passed to both synths"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="template-diff-") as directory:
        scratch = Path(directory)
        env = offline_environment(environ, scratch)
        try:
            return run(
                root,
                args.base,
                allow_replace=args.allow_replace,
                synth=synthesizer(args.context, env),
                env=env,
                scratch=scratch,
            )
        except RunError as error:
            print(f"template-diff: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())

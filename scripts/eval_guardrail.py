"""Guardrail regression harness behind `make eval-guardrail`: run every case of a cases file through the
deployed guardrail and print a pass/fail table.

Run it after `make deploy`. It reads the `GuardrailId` and `GuardrailVersion` outputs of the Application
stack (<stack_prefix>-Application in the region cdk.json configures, unless --stack-name or --region say
otherwise), then sends each case's text to the Bedrock Runtime ApplyGuardrail API (as a user prompt for
source INPUT, as a model answer for source OUTPUT) against that published guardrail version, and compares
what the guardrail did with what the case expects:

  block      a policy BLOCKED the text (content filter, prompt attack, denied topic, word, PII, regex, grounding)
  anonymize  nothing blocked it, but a PII entity or regex was ANONYMIZED (masked)
  pass       the guardrail did not intervene

It needs AWS credentials for the account and region of the stack (AWS_PROFILE, `aws sso login`,
environment variables...) allowed to call cloudformation:DescribeStacks (unless --guardrail-id and
--guardrail-version are both given) and bedrock:ApplyGuardrail. Every case is one ApplyGuardrail call,
billed by text units. Nothing is written.

Exit codes:
  0  every case did what it expects
  1  at least one case did not: the guardrail regressed, or the case is wrong
  2  the run could not be made: bad arguments, invalid cases file, stack or outputs not found, or an AWS
     error (no credentials, access denied, validation error, throttling after the SDK's retries...)

Examples:
  make eval-guardrail
  make eval-guardrail ARGS="--region eu-west-1"
  python scripts/eval_guardrail.py --stack-name MyPrefix-Application --only card-number --only greeting
  python scripts/eval_guardrail.py --guardrail-id abc123xyz --guardrail-version 2 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

ROOT: Final = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python scripts/eval_guardrail.py`, the project's packages are one level up
    sys.path.insert(0, str(ROOT))

from scripts.aws_errors import describe_aws_error  # noqa: E402
from scripts.stack_outputs import StackError, locate, read_outputs, require  # noqa: E402

DEFAULT_CASES: Final = ROOT / "tests" / "guardrail_cases.toml"
ID_OUTPUT: Final = "GuardrailId"
VERSION_OUTPUT: Final = "GuardrailVersion"

SOURCES: Final = ("INPUT", "OUTPUT")
EXPECTATIONS: Final = ("block", "anonymize", "pass")
REQUIRED_FIELDS: Final = ("name", "source", "text", "expect")
FIELDS: Final = (*REQUIRED_FIELDS, "why")

EXIT_OK: Final = 0
EXIT_MISMATCH: Final = 1
EXIT_ERROR: Final = 2


class CasesError(Exception):
    """The cases file cannot be used; the message is one line naming the file, the case and the field."""


class RunError(Exception):
    """The run cannot go on; the message is the one-line error to print."""


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # INPUT: a user prompt; OUTPUT: a model answer
    text: str
    expect: str  # block, anonymize or pass
    why: str = ""


@dataclass(frozen=True)
class Result:
    case: Case
    actual: str  # block, anonymize or pass
    fired: tuple[str, ...]  # what intervened, e.g. topic:Investment advice, content:PROMPT_ATTACK, pii:EMAIL

    @property
    def passed(self) -> bool:
        return self.actual == self.case.expect


def load_cases(path: Path) -> list[Case]:
    """Read and validate the `[[case]]` tables of a TOML file; any problem raises CasesError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CasesError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CasesError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise CasesError(f"{path}: not valid TOML: {error}") from None

    unknown_keys = sorted(set(data) - {"case"})
    if unknown_keys:
        raise CasesError(f"{path}: unknown top-level key '{unknown_keys[0]}', expected only [[case]] tables")
    tables = data.get("case")
    if tables is None:
        raise CasesError(f"{path}: no cases, expected [[case]] tables")
    if not isinstance(tables, list) or not all(isinstance(table, dict) for table in tables):
        raise CasesError(f"{path}: 'case' must be an array of tables, written [[case]]")

    cases: list[Case] = []
    first_index: dict[str, int] = {}
    for index, table in enumerate(tables, start=1):
        case = _parse_case(table, f"{path}: {_label(index, table)}")
        if case.name in first_index:
            raise CasesError(f"{path}: {_label(index, table)}: field 'name' duplicates case {first_index[case.name]}")
        first_index[case.name] = index
        cases.append(case)
    return cases


def _label(index: int, table: Mapping[str, Any]) -> str:
    name = table.get("name")
    return f"case {index} '{name}'" if isinstance(name, str) and name.strip() else f"case {index}"


def _parse_case(table: Mapping[str, Any], where: str) -> Case:
    for key in table:
        if key not in FIELDS:
            raise CasesError(f"{where}: unknown field '{key}', expected {', '.join(FIELDS)}")
    for field in REQUIRED_FIELDS:
        if field not in table:
            raise CasesError(f"{where}: missing field '{field}'")
    for field in FIELDS:
        if field in table and not isinstance(table[field], str):
            raise CasesError(f"{where}: field '{field}' must be a string")
    name, source, text, expect = (table[field] for field in REQUIRED_FIELDS)
    why = table.get("why", "")
    if not name.strip():
        raise CasesError(f"{where}: field 'name' is empty")
    if source not in SOURCES:
        raise CasesError(f"{where}: field 'source' is '{source}', expected one of {', '.join(SOURCES)}")
    if expect not in EXPECTATIONS:
        raise CasesError(f"{where}: field 'expect' is '{expect}', expected one of {', '.join(EXPECTATIONS)}")
    if not text.strip():
        raise CasesError(f"{where}: field 'text' is empty")
    if "\n" in why:
        raise CasesError(f"{where}: field 'why' must be one line")
    return Case(name=name, source=source, text=text, expect=expect, why=why)


def resolve_guardrail(cloudformation: Any, stack_name: str) -> tuple[str, str]:
    """The guardrail id and published version from the outputs of the Application stack; StackError if absent."""
    hint = "is the guardrail deployed? Pass --guardrail-id and --guardrail-version to skip the lookup"
    guardrail_id, version = require(
        read_outputs(cloudformation, stack_name), stack_name, (ID_OUTPUT, VERSION_OUTPUT), hint
    )
    return guardrail_id, version


def evaluate(runtime: Any, guardrail_id: str, version: str, case: Case) -> Result:
    """Apply the guardrail to the case's text and classify what it did; AWS errors propagate."""
    response = runtime.apply_guardrail(
        guardrailIdentifier=guardrail_id,
        guardrailVersion=version,
        source=case.source,
        content=[{"text": {"text": case.text}}],
        outputScope="FULL",
    )
    actual, fired = classify(response)
    return Result(case=case, actual=actual, fired=tuple(fired))


def classify(response: Mapping[str, Any]) -> tuple[str, list[str]]:
    """("block" | "anonymize" | "pass", what fired) from an ApplyGuardrail response.

    block when any policy entry's action is BLOCKED, else anonymize when any is ANONYMIZED, else pass.
    With outputScope FULL the assessments also list entries whose action is NONE; they are ignored. An
    intervention that no entry explains (a policy type this script does not know) counts as block, so
    that it never passes unnoticed.
    """
    if response.get("action") == "NONE":
        return "pass", []
    fired: list[str] = []
    actions: set[str] = set()
    for label, action in _policy_actions(response.get("assessments", [])):
        if action in ("BLOCKED", "ANONYMIZED"):
            actions.add(action)
            if label not in fired:
                fired.append(label)
    if "BLOCKED" in actions:
        return "block", fired
    if "ANONYMIZED" in actions:
        return "anonymize", fired
    if response.get("action") == "GUARDRAIL_INTERVENED":
        return "block", ["unexplained:GUARDRAIL_INTERVENED"]
    return "pass", []


def _policy_actions(assessments: Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """(label, action) of every entry of every policy assessment."""
    for assessment in assessments:
        topics = assessment.get("topicPolicy", {})
        for topic in topics.get("topics", []):
            yield f"topic:{topic.get('name')}", topic.get("action", "")
        content = assessment.get("contentPolicy", {})
        for content_filter in content.get("filters", []):
            yield f"content:{content_filter.get('type')}", content_filter.get("action", "")
        words = assessment.get("wordPolicy", {})
        for word in words.get("customWords", []):
            yield f"word:{word.get('match')}", word.get("action", "")
        for managed in words.get("managedWordLists", []):
            yield f"word:{managed.get('type')}", managed.get("action", "")
        sensitive = assessment.get("sensitiveInformationPolicy", {})
        for entity in sensitive.get("piiEntities", []):
            yield f"pii:{entity.get('type')}", entity.get("action", "")
        for regex in sensitive.get("regexes", []):
            yield f"regex:{regex.get('name') or regex.get('regex')}", regex.get("action", "")
        grounding = assessment.get("contextualGroundingPolicy", {})
        for grounding_filter in grounding.get("filters", []):
            yield f"grounding:{grounding_filter.get('type')}", grounding_filter.get("action", "")


def render_table(results: Sequence[Result]) -> str:
    """One row per case, then the summary line "N passed, M failed"."""
    header = ("case", "source", "expected", "actual", "fired", "result")
    rows = [
        (
            result.case.name,
            result.case.source,
            result.case.expect,
            result.actual,
            ", ".join(result.fired) or "-",
            "PASS" if result.passed else "FAIL",
        )
        for result in results
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    rule = "  ".join("-" * width for width in widths)
    head = "  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()
    passed = sum(result.passed for result in results)
    return "\n".join([head, rule, *lines, f"{passed} passed, {len(results) - passed} failed"])


def render_json(results: Sequence[Result], guardrail_id: str, version: str) -> str:
    passed = sum(result.passed for result in results)
    document = {
        "guardrail": {"id": guardrail_id, "version": version},
        "passed": passed,
        "failed": len(results) - passed,
        "results": [
            {
                "name": result.case.name,
                "source": result.case.source,
                "expected": result.case.expect,
                "actual": result.actual,
                "fired": list(result.fired),
                "passed": result.passed,
                "why": result.case.why,
            }
            for result in results
        ],
    }
    return json.dumps(document, indent=2)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eval_guardrail.py",
        description=__doc__.split("\n\n", 1)[0] if __doc__ else None,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]) if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--cases",
        type=Path,
        default=DEFAULT_CASES,
        metavar="PATH",
        help="TOML file of [[case]] tables (default: tests/guardrail_cases.toml of the repository)",
    )
    parser.add_argument(
        "--stack-name",
        help=f"Application stack whose {ID_OUTPUT} and {VERSION_OUTPUT} outputs name the guardrail"
        " (default: <stack_prefix>-Application, as cdk.json configures it)",
    )
    parser.add_argument("--guardrail-id", help="guardrail id; with --guardrail-version, skips CloudFormation")
    parser.add_argument("--guardrail-version", help="published guardrail version, e.g. 1; with --guardrail-id")
    parser.add_argument(
        "--region", help="AWS region of the stack (default: the region cdk.json configures, else the SDK's)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="run only the case of this name; repeat for several",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of the table")
    return parser


def main(argv: Sequence[str] | None = None, *, runtime: Any = None, cloudformation: Any = None) -> int:
    """Run the cases and print the results; returns the exit code. Missing clients are boto3's for --region."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if (args.guardrail_id is None) != (args.guardrail_version is None):
            parser.error("--guardrail-id and --guardrail-version go together: give both or neither")
    except SystemExit as exit_:  # argparse printed the help, or the usage and a one-line error
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR

    try:
        guardrail_id, version, region, results = run(args, runtime, cloudformation)
    except (CasesError, StackError, RunError) as error:
        return fail(str(error))
    except (ClientError, BotoCoreError) as error:
        return fail(describe_aws_error(error))

    if args.json:
        print(render_json(results, guardrail_id, version))
    else:
        print(f"guardrail {guardrail_id} version {version} in {region}: {len(results)} case(s)")
        print(render_table(results))
    return EXIT_OK if all(result.passed for result in results) else EXIT_MISMATCH


def run(args: argparse.Namespace, runtime: Any, cloudformation: Any) -> tuple[str, str, str, list[Result]]:
    """Load the cases, find the guardrail, evaluate every case: (guardrail id, version, region, results).

    Errors raise; an AWS error on a case stops the run as a RunError naming the case.
    """
    cases = select(load_cases(args.cases), args.only)
    lookup = args.guardrail_id is None
    stack_name, region = locate(args.stack_name, args.region)
    if runtime is None or (lookup and cloudformation is None):
        session = boto3.session.Session(region_name=region)
        if runtime is None:
            runtime = session.client("bedrock-runtime")
        if lookup and cloudformation is None:
            cloudformation = session.client("cloudformation")
    if lookup:
        guardrail_id, version = resolve_guardrail(cloudformation, stack_name)
    else:
        guardrail_id, version = args.guardrail_id, args.guardrail_version
    results = []
    for case in cases:
        try:
            results.append(evaluate(runtime, guardrail_id, version, case))
        except (ClientError, BotoCoreError) as error:
            raise RunError(f"case '{case.name}': {describe_aws_error(error)}") from None
    return guardrail_id, version, runtime.meta.region_name, results


def select(cases: list[Case], only: Sequence[str]) -> list[Case]:
    """The cases named by --only, in file order; all of them when --only is not given."""
    if not only:
        return cases
    names = {case.name for case in cases}
    unknown = [name for name in dict.fromkeys(only) if name not in names]
    if unknown:
        raise RunError(f"--only: no case named {', '.join(repr(name) for name in unknown)}")
    return [case for case in cases if case.name in only]


def fail(message: str) -> int:
    print(f"eval_guardrail: error: {message}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())

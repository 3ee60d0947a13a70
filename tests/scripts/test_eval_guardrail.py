"""The guardrail regression harness, offline: stubbed CloudFormation and Bedrock Runtime clients, temporary cases."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from scripts.eval_guardrail import (
    DEFAULT_CASES,
    EXPECTATIONS,
    SOURCES,
    Case,
    CasesError,
    Result,
    classify,
    evaluate,
    load_cases,
    main,
    render_table,
    resolve_guardrail,
)
from scripts.stack_outputs import StackError

from .conftest import Aws
from .no_aws import remove_aws_environment

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "eval_guardrail.py"
STACK = "BedrockGenAi-Application"
GUARDRAIL_ID = "gr0abc123xyz"
VERSION = "3"
USAGE = {
    "topicPolicyUnits": 1,
    "contentPolicyUnits": 1,
    "wordPolicyUnits": 1,
    "sensitiveInformationPolicyUnits": 1,
    "sensitiveInformationPolicyFreeUnits": 0,
    "contextualGroundingPolicyUnits": 0,
}


# --- builders of ApplyGuardrail responses, in the shape of the bedrock-runtime service model ---


def response(*policies: dict[str, Any], action: str = "GUARDRAIL_INTERVENED") -> dict[str, Any]:
    """An ApplyGuardrail response with one assessment holding `policies`."""
    assessment: dict[str, Any] = {}
    for policy in policies:
        assessment.update(policy)
    return {
        "usage": USAGE,
        "action": action,
        "outputs": [{"text": "Sorry, I can't help with that."}] if action != "NONE" else [],
        "assessments": [assessment] if policies else [],
    }


def topic(name: str, action: str = "BLOCKED") -> dict[str, Any]:
    return {"topicPolicy": {"topics": [{"name": name, "type": "DENY", "action": action, "detected": action != "NONE"}]}}


def content(*filters: tuple[str, str]) -> dict[str, Any]:
    return {
        "contentPolicy": {
            "filters": [
                {"type": kind, "confidence": "HIGH", "filterStrength": "HIGH", "action": action}
                for kind, action in filters
            ]
        }
    }


def custom_word(match: str, action: str = "BLOCKED") -> dict[str, Any]:
    return {"wordPolicy": {"customWords": [{"match": match, "action": action}], "managedWordLists": []}}


def profanity(match: str, action: str = "BLOCKED") -> dict[str, Any]:
    return {
        "wordPolicy": {
            "customWords": [],
            "managedWordLists": [{"match": match, "type": "PROFANITY", "action": action}],
        }
    }


def pii(*entities: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "sensitiveInformationPolicy": {
            "piiEntities": [{"type": kind, "match": match, "action": action} for kind, match, action in entities],
            "regexes": [],
        }
    }


def regex(name: str, action: str) -> dict[str, Any]:
    return {
        "sensitiveInformationPolicy": {
            "piiEntities": [],
            "regexes": [{"name": name, "match": "EMP-0042", "regex": r"EMP-\d{4}", "action": action}],
        }
    }


def grounding(kind: str, action: str = "BLOCKED") -> dict[str, Any]:
    return {
        "contextualGroundingPolicy": {"filters": [{"type": kind, "threshold": 0.8, "score": 0.2, "action": action}]}
    }


BLOCKED = response(topic("Investment advice"))
ANONYMIZED = response(pii(("EMAIL", "support@example.com", "ANONYMIZED"), ("PHONE", "+1 206-555-0142", "ANONYMIZED")))
PASSED = response(
    content(("HATE", "NONE"), ("PROMPT_ATTACK", "NONE")), topic("Investment advice", "NONE"), action="NONE"
)

CLASSIFIED = {
    "denied topic": (BLOCKED, "block", ["topic:Investment advice"]),
    "prompt attack": (response(content(("PROMPT_ATTACK", "BLOCKED"))), "block", ["content:PROMPT_ATTACK"]),
    "content filter among NONE filters": (
        response(content(("HATE", "NONE"), ("INSULTS", "BLOCKED"), ("VIOLENCE", "NONE"))),
        "block",
        ["content:INSULTS"],
    ),
    "custom word": (response(custom_word("DAN mode")), "block", ["word:DAN mode"]),
    "managed word list": (response(profanity("shit")), "block", ["word:PROFANITY"]),
    "blocked pii": (
        response(pii(("CREDIT_DEBIT_CARD_NUMBER", "4111 1111 1111 1111", "BLOCKED"))),
        "block",
        ["pii:CREDIT_DEBIT_CARD_NUMBER"],
    ),
    "anonymized pii": (ANONYMIZED, "anonymize", ["pii:EMAIL", "pii:PHONE"]),
    "blocked regex": (response(regex("employee-id", "BLOCKED")), "block", ["regex:employee-id"]),
    "anonymized regex": (response(regex("employee-id", "ANONYMIZED")), "anonymize", ["regex:employee-id"]),
    "contextual grounding": (response(grounding("GROUNDING")), "block", ["grounding:GROUNDING"]),
    "block wins over anonymize": (
        response(
            pii(("EMAIL", "a@example.com", "ANONYMIZED"), ("CREDIT_DEBIT_CARD_NUMBER", "4111111111111111", "BLOCKED"))
        ),
        "block",
        ["pii:EMAIL", "pii:CREDIT_DEBIT_CARD_NUMBER"],
    ),
    "every policy at once, each named once": (
        response(
            topic("Medical diagnosis"),
            content(("PROMPT_ATTACK", "BLOCKED"), ("MISCONDUCT", "BLOCKED")),
            custom_word("developer mode enabled"),
            pii(("EMAIL", "a@example.com", "ANONYMIZED"), ("EMAIL", "b@example.com", "ANONYMIZED")),
        ),
        "block",
        [
            "topic:Medical diagnosis",
            "content:PROMPT_ATTACK",
            "content:MISCONDUCT",
            "word:developer mode enabled",
            "pii:EMAIL",
        ],
    ),
    "action NONE, full scope lists NONE entries": (PASSED, "pass", []),
    "action NONE, no assessments": (response(action="NONE"), "pass", []),
    "intervened without an explaining entry": (response(), "block", ["unexplained:GUARDRAIL_INTERVENED"]),
}


def apply_params(case: Case, guardrail_id: str = GUARDRAIL_ID, version: str = VERSION) -> dict[str, Any]:
    return {
        "guardrailIdentifier": guardrail_id,
        "guardrailVersion": version,
        "source": case.source,
        "content": [{"text": {"text": case.text}}],
        "outputScope": "FULL",
    }


def stack(outputs: dict[str, str]) -> dict[str, Any]:
    return {
        "Stacks": [
            {
                "StackName": STACK,
                "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                "StackStatus": "UPDATE_COMPLETE",
                "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
            }
        ]
    }


DEPLOYED = stack({"GuardrailId": GUARDRAIL_ID, "GuardrailVersion": VERSION, "ApiUrl": "https://example.com/"})


# --- cases files ---

CASES_TOML = """
[[case]]
name = "card"
source = "INPUT"
text = "My card is 4111 1111 1111 1111."
expect = "block"
why = "PII BLOCK"

[[case]]
name = "contact"
source = "OUTPUT"
text = "Write to support@example.com or call +1 206-555-0142."
expect = "anonymize"

[[case]]
name = "greeting"
source = "INPUT"
text = "Hi there!"
expect = "pass"
"""
CASES = [
    Case("card", "INPUT", "My card is 4111 1111 1111 1111.", "block", "PII BLOCK"),
    Case("contact", "OUTPUT", "Write to support@example.com or call +1 206-555-0142.", "anonymize"),
    Case("greeting", "INPUT", "Hi there!", "pass"),
]
ANSWERS = {"card": BLOCKED, "contact": ANONYMIZED, "greeting": PASSED}


@pytest.fixture
def cases_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.toml"
    path.write_text(CASES_TOML, encoding="utf-8")
    return path


def test_shipped_cases_load_and_cover_every_expectation_and_source() -> None:
    cases = load_cases(DEFAULT_CASES)

    assert DEFAULT_CASES == ROOT / "tests" / "guardrail_cases.toml"
    assert {case.expect for case in cases} == set(EXPECTATIONS)
    assert {case.source for case in cases} == set(SOURCES)
    assert {case.source for case in cases if case.expect == "anonymize"} >= {"OUTPUT"}
    assert all(len(case.text) < 300 for case in cases)
    assert all(len(case.name) <= 30 and " " not in case.name for case in cases)


def test_load_cases_reads_every_field(cases_file: Path) -> None:
    assert load_cases(cases_file) == CASES


def one_case(**fields: str) -> str:
    return "[[case]]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in fields.items())


GOOD = {"name": "a", "source": "INPUT", "text": "hello", "expect": "pass"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            one_case(name="a", source="INPUT", text="hello"), "case 1 'a': missing field 'expect'", id="missing field"
        ),
        pytest.param(
            one_case(source="INPUT", text="hello", expect="pass"), "case 1: missing field 'name'", id="missing name"
        ),
        pytest.param(
            one_case(**{**GOOD, "expect": "blocked"}),
            "case 1 'a': field 'expect' is 'blocked', expected one of block, anonymize, pass",
            id="bad expect",
        ),
        pytest.param(
            one_case(**{**GOOD, "source": "input"}),
            "case 1 'a': field 'source' is 'input', expected one of INPUT, OUTPUT",
            id="bad source",
        ),
        pytest.param(
            one_case(**GOOD) + one_case(**{**GOOD, "name": "b"}) + one_case(**GOOD),
            "case 3 'a': field 'name' duplicates case 1",
            id="duplicate names",
        ),
        pytest.param(one_case(**{**GOOD, "text": "  \n"}), "case 1 'a': field 'text' is empty", id="empty text"),
        pytest.param(one_case(**{**GOOD, "name": " "}), "case 1: field 'name' is empty", id="empty name"),
        pytest.param(
            one_case(**GOOD).replace('text = "hello"', "text = 42"),
            "case 1 'a': field 'text' must be a string",
            id="text not a string",
        ),
        pytest.param(
            one_case(**{**GOOD, "expected": "pass"}),
            "case 1 'a': unknown field 'expected', expected name, source, text, expect, why",
            id="unknown field",
        ),
        pytest.param(
            one_case(**{**GOOD, "why": "two\nlines"}), "case 1 'a': field 'why' must be one line", id="multi-line why"
        ),
        pytest.param(
            "this is not toml\n",
            "not valid TOML: Expected '=' after a key in a key/value pair (at line 1, column 6)",
            id="not TOML",
        ),
        pytest.param("", "no cases, expected [[case]] tables", id="no cases"),
        pytest.param('case = "x"\n', "'case' must be an array of tables, written [[case]]", id="case not tables"),
        pytest.param(
            'title = "x"\n' + one_case(**GOOD),
            "unknown top-level key 'title', expected only [[case]] tables",
            id="unknown top-level key",
        ),
    ],
)
def test_load_cases_rejects_a_bad_file_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cases.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(CasesError) as raised:
        load_cases(path)

    assert str(raised.value) == f"{path}: {message}"


def test_load_cases_rejects_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"

    with pytest.raises(CasesError) as raised:
        load_cases(path)

    assert str(raised.value) == f"{path}: no such file"


# --- resolve_guardrail ---


def test_resolve_guardrail_reads_the_stack_outputs(cloudformation: Any, cloudformation_stub: Stubber) -> None:
    cloudformation_stub.add_response("describe_stacks", DEPLOYED, {"StackName": STACK})

    assert resolve_guardrail(cloudformation, STACK) == (GUARDRAIL_ID, VERSION)


def test_resolve_guardrail_names_a_missing_stack(cloudformation: Any, cloudformation_stub: Stubber) -> None:
    cloudformation_stub.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id Other-Application does not exist", 400
    )

    with pytest.raises(StackError) as raised:
        resolve_guardrail(cloudformation, "Other-Application")

    assert str(raised.value) == (
        "stack 'Other-Application' not found in us-east-1"
        " (deploy it with `make deploy`, or pass --stack-name or --region)"
    )


@pytest.mark.parametrize(
    ("outputs", "missing", "present"),
    [
        pytest.param({}, "GuardrailId or GuardrailVersion", "none", id="no outputs"),
        pytest.param({"GuardrailId": GUARDRAIL_ID, "ApiUrl": "u"}, "GuardrailVersion", "ApiUrl, GuardrailId", id="one"),
    ],
)
def test_resolve_guardrail_names_missing_outputs(
    cloudformation: Any, cloudformation_stub: Stubber, outputs: dict[str, str], missing: str, present: str
) -> None:
    cloudformation_stub.add_response("describe_stacks", stack(outputs), {"StackName": STACK})

    with pytest.raises(StackError) as raised:
        resolve_guardrail(cloudformation, STACK)

    assert str(raised.value) == (
        f"stack '{STACK}' has no output {missing} (its outputs: {present}); is the guardrail deployed?"
        " Pass --guardrail-id and --guardrail-version to skip the lookup"
    )


def test_resolve_guardrail_lets_other_aws_errors_through(cloudformation: Any, cloudformation_stub: Stubber) -> None:
    cloudformation_stub.add_client_error("describe_stacks", "AccessDenied", "not authorized", 403)

    with pytest.raises(ClientError, match="AccessDenied"):
        resolve_guardrail(cloudformation, STACK)


# --- evaluate and classify ---


def test_evaluate_sends_the_case_to_apply_guardrail(runtime: Any, runtime_stub: Stubber) -> None:
    case = CASES[1]
    runtime_stub.add_response(
        "apply_guardrail",
        ANONYMIZED,
        {
            "guardrailIdentifier": GUARDRAIL_ID,
            "guardrailVersion": VERSION,
            "source": "OUTPUT",
            "content": [{"text": {"text": "Write to support@example.com or call +1 206-555-0142."}}],
            "outputScope": "FULL",
        },
    )

    result = evaluate(runtime, GUARDRAIL_ID, VERSION, case)

    assert result == Result(case, "anonymize", ("pii:EMAIL", "pii:PHONE"))
    assert result.passed


@pytest.mark.parametrize(("answer", "actual", "fired"), CLASSIFIED.values(), ids=CLASSIFIED.keys())
def test_classify(runtime: Any, runtime_stub: Stubber, answer: dict[str, Any], actual: str, fired: list[str]) -> None:
    """Each sample goes through the Stubber too, which checks it against the service model's response shape."""
    case = Case("c", "INPUT", "text", "pass")
    runtime_stub.add_response("apply_guardrail", answer, apply_params(case))

    assert classify(answer) == (actual, fired)
    assert evaluate(runtime, GUARDRAIL_ID, VERSION, case) == Result(case, actual, tuple(fired))


# --- render_table ---


def test_render_table() -> None:
    results = [
        Result(CASES[0], "block", ("pii:CREDIT_DEBIT_CARD_NUMBER",)),
        Result(CASES[1], "anonymize", ("pii:EMAIL", "pii:PHONE")),
        Result(CASES[2], "block", ("topic:Investment advice",)),
        Result(Case("hello", "INPUT", "Hello", "pass"), "pass", ()),
    ]

    assert render_table(results) == "\n".join(
        [
            "case      source  expected   actual     fired                         result",
            "--------  ------  ---------  ---------  ----------------------------  ------",
            "card      INPUT   block      block      pii:CREDIT_DEBIT_CARD_NUMBER  PASS",
            "contact   OUTPUT  anonymize  anonymize  pii:EMAIL, pii:PHONE          PASS",
            "greeting  INPUT   pass       block      topic:Investment advice       FAIL",
            "hello     INPUT   pass       pass       -                             PASS",
            "3 passed, 1 failed",
        ]
    )


# --- main ---


def expect_run(aws: Aws, answers: dict[str, dict[str, Any]], names: list[str]) -> None:
    aws.cloudformation_stub.add_response("describe_stacks", DEPLOYED, {"StackName": STACK})
    for case in CASES:
        if case.name in names:
            aws.runtime_stub.add_response("apply_guardrail", answers[case.name], apply_params(case))


def test_main_exits_0_when_every_case_is_as_expected(
    cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_run(aws, ANSWERS, ["card", "contact", "greeting"])

    code = main(["--cases", str(cases_file)], runtime=aws.runtime, cloudformation=aws.cloudformation)

    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 0
    assert err == ""
    assert lines[0] == f"guardrail {GUARDRAIL_ID} version {VERSION} in us-east-1: 3 case(s)"
    assert lines[1].split() == ["case", "source", "expected", "actual", "fired", "result"]
    assert [line.split()[0] for line in lines[3:-1]] == ["card", "contact", "greeting"]
    assert all(line.endswith("PASS") for line in lines[3:-1])
    assert lines[-1] == "3 passed, 0 failed"


def test_main_exits_1_when_a_case_is_not_as_expected(
    cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_run(aws, {**ANSWERS, "greeting": BLOCKED}, ["card", "contact", "greeting"])

    code = main(["--cases", str(cases_file)], runtime=aws.runtime, cloudformation=aws.cloudformation)

    out, err = capsys.readouterr()
    assert code == 1
    assert err == ""
    assert "greeting  INPUT   pass       block      topic:Investment advice  FAIL" in out.splitlines()
    assert out.splitlines()[-1] == "2 passed, 1 failed"


def test_main_runs_only_the_named_cases(cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    expect_run(aws, ANSWERS, ["card", "greeting"])

    code = main(
        ["--cases", str(cases_file), "--only", "greeting", "--only", "card"],
        runtime=aws.runtime,
        cloudformation=aws.cloudformation,
    )

    out, _ = capsys.readouterr()
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[3:-1]] == ["card", "greeting"]
    assert out.splitlines()[-1] == "2 passed, 0 failed"


def test_main_prints_json(cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    expect_run(aws, {**ANSWERS, "contact": PASSED}, ["card", "contact", "greeting"])

    code = main(["--cases", str(cases_file), "--json"], runtime=aws.runtime, cloudformation=aws.cloudformation)

    out, err = capsys.readouterr()
    document = json.loads(out)
    assert code == 1
    assert err == ""
    assert document["guardrail"] == {"id": GUARDRAIL_ID, "version": VERSION}
    assert (document["passed"], document["failed"]) == (2, 1)
    assert document["results"][0] == {
        "name": "card",
        "source": "INPUT",
        "expected": "block",
        "actual": "block",
        "fired": ["topic:Investment advice"],
        "passed": True,
        "why": "PII BLOCK",
    }
    assert [(row["name"], row["actual"], row["passed"]) for row in document["results"][1:]] == [
        ("contact", "pass", False),
        ("greeting", "pass", True),
    ]


def test_main_skips_cloudformation_given_the_guardrail(
    cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.runtime_stub.add_response("apply_guardrail", PASSED, apply_params(CASES[2], "other-id", "DRAFT"))

    code = main(
        [
            "--cases",
            str(cases_file),
            "--guardrail-id",
            "other-id",
            "--guardrail-version",
            "DRAFT",
            "--only",
            "greeting",
        ],
        runtime=aws.runtime,
        cloudformation=aws.cloudformation,
    )

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "guardrail other-id version DRAFT in us-east-1: 1 case(s)"


def test_main_looks_up_the_named_stack(
    cases_file: Path,
    aws: Aws,
) -> None:
    aws.cloudformation_stub.add_response("describe_stacks", DEPLOYED, {"StackName": "Acme-Application"})
    aws.runtime_stub.add_response("apply_guardrail", PASSED, apply_params(CASES[2]))

    code = main(
        ["--cases", str(cases_file), "--stack-name", "Acme-Application", "--only", "greeting"],
        runtime=aws.runtime,
        cloudformation=aws.cloudformation,
    )

    assert code == 0


@pytest.mark.parametrize(
    ("code", "message"),
    [
        pytest.param(
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/dev/me is not authorized to perform: bedrock:ApplyGuardrail",
            id="access denied",
        ),
        pytest.param("ValidationException", "The guardrail version 3 does not exist.", id="validation"),
        pytest.param("ThrottlingException", "Too many requests,\nplease wait before trying again.", id="throttling"),
    ],
)
def test_main_exits_2_on_an_apply_guardrail_error(
    cases_file: Path,
    aws: Aws,
    capsys: pytest.CaptureFixture[str],
    code: str,
    message: str,
) -> None:
    """An API error stops the run at the first case: the environment is wrong, not the guardrail."""
    aws.cloudformation_stub.add_response("describe_stacks", DEPLOYED, {"StackName": STACK})
    aws.runtime_stub.add_client_error("apply_guardrail", code, message, 400, expected_params=apply_params(CASES[0]))

    exit_code = main(["--cases", str(cases_file)], runtime=aws.runtime, cloudformation=aws.cloudformation)

    out, err = capsys.readouterr()
    assert exit_code == 2
    assert out == ""
    assert err == f"eval_guardrail: error: case 'card': ApplyGuardrail failed: {code}: {' '.join(message.split())}\n"


def test_main_exits_2_when_the_stack_is_missing(cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.cloudformation_stub.add_client_error(
        "describe_stacks", "ValidationError", f"Stack with id {STACK} does not exist", 400, {"StackName": STACK}
    )

    code = main(["--cases", str(cases_file)], runtime=aws.runtime, cloudformation=aws.cloudformation)

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (
        f"eval_guardrail: error: stack '{STACK}' not found in us-east-1"
        " (deploy it with `make deploy`, or pass --stack-name or --region)\n"
    )


def test_main_exits_2_on_a_describe_stacks_error(
    cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.cloudformation_stub.add_client_error("describe_stacks", "AccessDenied", "not authorized", 403)

    code = main(["--cases", str(cases_file)], runtime=aws.runtime, cloudformation=aws.cloudformation)

    assert code == 2
    assert capsys.readouterr().err == "eval_guardrail: error: DescribeStacks failed: AccessDenied: not authorized\n"


def test_main_exits_2_when_the_outputs_are_missing(
    cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.cloudformation_stub.add_response("describe_stacks", stack({}), {"StackName": STACK})

    code = main(["--cases", str(cases_file)], runtime=aws.runtime, cloudformation=aws.cloudformation)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"eval_guardrail: error: stack '{STACK}' has no output GuardrailId or GuardrailVersion")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            one_case(**{**GOOD, "expect": "blocked"}),
            "case 1 'a': field 'expect' is 'blocked', expected one of block, anonymize, pass",
            id="bad case",
        ),
        pytest.param(None, "no such file", id="missing file"),
    ],
)
def test_main_exits_2_on_a_bad_cases_file(
    tmp_path: Path,
    aws: Aws,
    capsys: pytest.CaptureFixture[str],
    text: str | None,
    message: str,
) -> None:
    path = tmp_path / "cases.toml"
    if text is not None:
        path.write_text(text, encoding="utf-8")

    code = main(["--cases", str(path)], runtime=aws.runtime, cloudformation=aws.cloudformation)

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == f"eval_guardrail: error: {path}: {message}\n"


def test_main_exits_2_on_an_unknown_only_name(cases_file: Path, aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["--cases", str(cases_file), "--only", "card", "--only", "nope", "--only", "gone"],
        runtime=aws.runtime,
        cloudformation=aws.cloudformation,
    )

    assert code == 2
    assert capsys.readouterr().err == "eval_guardrail: error: --only: no case named 'nope', 'gone'\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--guardrail-id", "abc"],
            "--guardrail-id and --guardrail-version go together: give both or neither",
            id="id without version",
        ),
        pytest.param(["--verbose"], "unrecognized arguments: --verbose", id="unknown option"),
    ],
)
def test_main_exits_2_on_bad_arguments(
    argv: list[str], message: str, aws: Aws, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv, runtime=aws.runtime, cloudformation=aws.cloudformation)

    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[-1] == f"eval_guardrail.py: error: {message}"
    assert "Traceback" not in err


def test_main_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("usage: eval_guardrail.py [-h] [--cases PATH] [--stack-name STACK_NAME]")
    assert "Exit codes:" in out
    assert 'make eval-guardrail ARGS="--region eu-west-1"' in out


@pytest.fixture
def no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    remove_aws_environment(monkeypatch, tmp_path)


@pytest.mark.usefixtures("no_aws_environment")
def test_main_exits_2_without_credentials(cases_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--cases", str(cases_file), "--region", "us-east-1", "--guardrail-id", "g", "--guardrail-version", "1"]

    code = main(argv)

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (
        "eval_guardrail: error: case 'card': no AWS credentials found:"
        " configure them for the stack's account (AWS_PROFILE, aws sso login...)\n"
    )


@pytest.mark.usefixtures("no_aws_environment")
def test_main_exits_2_without_a_region(cases_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--cases", str(cases_file)])

    assert code == 2
    assert capsys.readouterr().err == (
        "eval_guardrail: error: no AWS region configured: pass --region, or set AWS_REGION or a profile's region\n"
    )


def test_script_runs_as_a_program(tmp_path: Path) -> None:
    """`python scripts/eval_guardrail.py` from anywhere: --help works, and an error exits 2 without a traceback."""
    help_run = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    missing = tmp_path / "missing.toml"
    error_run = subprocess.run(
        [sys.executable, str(SCRIPT), "--cases", str(missing)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert help_run.returncode == 0
    assert "--guardrail-version" in help_run.stdout
    assert (error_run.returncode, error_run.stdout) == (2, "")
    assert error_run.stderr == f"eval_guardrail: error: {missing}: no such file\n"

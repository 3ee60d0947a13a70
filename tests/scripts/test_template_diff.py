"""scripts/template_diff.py: which resources a change adds, removes, replaces or changes, and the stateful gate."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from scripts.template_diff import (
    CLI_FLAGS,
    HOLDS,
    NOT_GATED,
    Change,
    RunError,
    Synthesizer,
    cdk_diff,
    cli_details,
    cli_verdicts,
    compare,
    create_only_properties,
    judge,
    main,
    offline_environment,
    references,
)
from tests.synth import ROOT

Template = dict[str, Any]
GIT = shutil.which("git") or "git"


def resource(type_: str, path: str = "", **properties: Any) -> dict[str, Any]:
    """A resource of `type_` with `properties`, and its construct path as CDK writes it."""
    body: dict[str, Any] = {"Type": type_, "Properties": properties}
    if path:
        body["Metadata"] = {"aws:cdk:path": path}
    return body


def template(**resources: Mapping[str, Any]) -> Template:
    return {"Resources": dict(resources)}


def with_policy(body: Mapping[str, Any], **attributes: str) -> dict[str, Any]:
    return {**body, **attributes}


def kinds(changes: Sequence[Change]) -> dict[str, str]:
    return {change.logical_id: change.kind for change in changes}


def only(changes: Sequence[Change]) -> Change:
    assert len(changes) == 1, changes
    return changes[0]


# The vector store as the Foundation stack declares it: index -> bucket, knowledge base -> index.
VECTOR_BUCKET = resource(
    "AWS::S3Vectors::VectorBucket",
    "Foundation/VectorStore/Bucket",
    EncryptionConfiguration={"SseType": "aws:kms", "KmsKeyArn": {"Fn::GetAtt": ["Key", "Arn"]}},
)
VECTOR_INDEX = resource(
    "AWS::S3Vectors::Index",
    "Foundation/VectorStore/Index",
    Dimension=1024,
    DataType="float32",
    DistanceMetric="cosine",
    VectorBucketArn={"Fn::GetAtt": ["VectorBucket", "VectorBucketArn"]},
)
KNOWLEDGE_BASE = resource(
    "AWS::Bedrock::KnowledgeBase",
    "Foundation/KnowledgeBase",
    Name="kb",
    KnowledgeBaseConfiguration={
        "Type": "VECTOR",
        "VectorKnowledgeBaseConfiguration": {"EmbeddingModelArn": "arn:aws:bedrock:::foundation-model/titan-v2"},
    },
    StorageConfiguration={
        "Type": "S3_VECTORS",
        "S3VectorsConfiguration": {"IndexArn": {"Fn::GetAtt": ["VectorIndex", "IndexArn"]}},
    },
)
VECTOR_STORE = template(VectorBucket=VECTOR_BUCKET, VectorIndex=VECTOR_INDEX, KnowledgeBase=KNOWLEDGE_BASE)


def test_a_changed_create_only_property_replaces_the_resource() -> None:
    base = template(Bucket=resource("AWS::S3::Bucket", "Foundation/Documents/Bucket", BucketName="docs-a"))
    head = template(Bucket=resource("AWS::S3::Bucket", "Foundation/Documents/Bucket", BucketName="docs-b"))

    change = only(compare(base, head))

    assert (change.kind, change.details) == ("replaced", ("create-only BucketName changed",))
    gated, noted = judge("Foundation", [change])
    assert gated == [
        "Foundation: AWS::S3::Bucket Bucket (Foundation/Documents/Bucket) would be REPLACED (create-only BucketName "
        "changed): the old one is deleted with its objects"
    ]
    assert noted == []


def test_the_vector_index_dimension_is_create_only() -> None:
    head = json.loads(json.dumps(VECTOR_STORE))
    head["Resources"]["VectorIndex"]["Properties"]["Dimension"] = 512

    assert kinds(compare(VECTOR_STORE, head)) == {"VectorIndex": "replaced", "KnowledgeBase": "replaced"}


def test_a_nested_create_only_property_replaces_the_knowledge_base() -> None:
    head = json.loads(json.dumps(VECTOR_STORE))
    vector = head["Resources"]["KnowledgeBase"]["Properties"]["KnowledgeBaseConfiguration"]
    vector["VectorKnowledgeBaseConfiguration"]["EmbeddingModelArn"] = "arn:aws:bedrock:::foundation-model/cohere"

    change = only(compare(VECTOR_STORE, head))

    assert change.kind == "replaced"
    assert change.details == ("create-only KnowledgeBaseConfiguration.VectorKnowledgeBaseConfiguration changed",)


def test_a_replacement_replaces_what_refers_to_it_through_a_create_only_property() -> None:
    head = json.loads(json.dumps(VECTOR_STORE))
    head["Resources"]["VectorBucket"]["Properties"]["EncryptionConfiguration"] = {"SseType": "AES256"}

    changes = {change.logical_id: change for change in compare(VECTOR_STORE, head)}

    assert {i: c.kind for i, c in changes.items()} == {
        "VectorBucket": "replaced",
        "VectorIndex": "replaced",
        "KnowledgeBase": "replaced",
    }
    assert changes["VectorIndex"].details == ("create-only VectorBucketArn refers to VectorBucket, which is replaced",)
    assert changes["KnowledgeBase"].details == (
        "create-only StorageConfiguration refers to VectorIndex, which is replaced",
    )
    gated, _ = judge("Foundation", list(changes.values()))
    assert [line.split(" (")[0] for line in gated] == [
        "Foundation: AWS::Bedrock::KnowledgeBase KnowledgeBase",
        "Foundation: AWS::S3Vectors::VectorBucket VectorBucket",
        "Foundation: AWS::S3Vectors::Index VectorIndex",
    ]


def test_a_reference_through_a_mutable_property_does_not_replace() -> None:
    base = template(
        Key=resource("AWS::KMS::Key", EnableKeyRotation=True),
        Table=resource("AWS::DynamoDB::Table", SSESpecification={"KMSMasterKeyId": {"Ref": "Key"}}),
    )
    head = template(
        Key=resource("AWS::KMS::Key", EnableKeyRotation=False),
        Table=resource("AWS::DynamoDB::Table", SSESpecification={"KMSMasterKeyId": {"Ref": "Key"}}),
    )

    change = only(compare(base, head))

    assert (change.logical_id, change.kind, change.details) == ("Key", "changed", ("EnableKeyRotation",))
    assert judge("Foundation", [change]) == ([], [])


def test_mutable_changes_of_stateful_resources_pass_the_gate() -> None:
    base = template(Table=resource("AWS::DynamoDB::Table", "F/Tickets/Table", BillingMode="PAY_PER_REQUEST"))
    head = template(
        Table=with_policy(
            resource("AWS::DynamoDB::Table", "F/Tickets/Table", BillingMode="PROVISIONED"), DeletionPolicy="Retain"
        )
    )

    change = only(compare(base, head))

    assert (change.kind, change.details) == ("changed", ("BillingMode", "DeletionPolicy"))
    assert change.line() == "[~] AWS::DynamoDB::Table F/Tickets/Table Table: BillingMode, DeletionPolicy"
    assert judge("Foundation", [change]) == ([], [])


@pytest.mark.parametrize(
    ("policy", "fate"),
    [
        ({}, "deleted with its items"),
        ({"DeletionPolicy": "Delete"}, "deleted with its items"),
        ({"DeletionPolicy": "Retain"}, "kept with its items, no longer managed"),
    ],
)
def test_a_removed_stateful_resource_fails_and_says_what_happens_to_its_data(policy: dict[str, str], fate: str) -> None:
    base = template(Table=with_policy(resource("AWS::DynamoDB::Table", "Foundation/Tickets/Table"), **policy))

    change = only(compare(base, template()))

    assert change.kind == "removed"
    assert judge("Foundation", [change]) == (
        [f"Foundation: AWS::DynamoDB::Table Table (Foundation/Tickets/Table) would be REMOVED: {fate}"],
        [],
    )


def test_a_renamed_logical_id_removes_the_old_resource() -> None:
    base = template(Memory=resource("AWS::BedrockAgentCore::Memory", "Foundation/AgentMemory/Resource", Name="m"))
    head = template(Memory2=resource("AWS::BedrockAgentCore::Memory", "Foundation/Memory/Resource", Name="m"))

    changes = compare(base, head)

    assert kinds(changes) == {"Memory2": "added", "Memory": "removed"}
    gated, _ = judge("Foundation", changes)
    assert gated == [
        "Foundation: AWS::BedrockAgentCore::Memory Memory (Foundation/AgentMemory/Resource) would be REMOVED: "
        "deleted with the agent's memory of every conversation"
    ]


def test_a_new_type_under_the_same_logical_id_is_a_replacement() -> None:
    base = template(Store=resource("AWS::OpenSearchServerless::Collection", Name="kb", Type="VECTORSEARCH"))
    head = template(Store=resource("AWS::S3Vectors::VectorBucket"))

    change = only(compare(base, head))

    assert (change.kind, change.details) == ("replaced", ("its type was AWS::OpenSearchServerless::Collection",))


@pytest.mark.parametrize("policy", ["Retain", "Snapshot"])
def test_a_replaced_resource_kept_by_its_update_replace_policy_is_still_gated(policy: str) -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/"
    base = template(
        Memory=with_policy(
            resource("AWS::BedrockAgentCore::Memory", EncryptionKeyArn=key + "a"), UpdateReplacePolicy=policy
        )
    )
    head = template(Memory=resource("AWS::BedrockAgentCore::Memory", EncryptionKeyArn=key + "b"))

    gated, _ = judge("Foundation", compare(base, head))

    assert gated == [
        "Foundation: AWS::BedrockAgentCore::Memory Memory (no construct path) would be REPLACED (create-only "
        "EncryptionKeyArn changed): the old one is kept with the agent's memory of every conversation, unused"
    ]


def test_the_cli_verdict_counts_where_the_schema_is_silent() -> None:
    # CloudFormation documents KeySchema as "Update requires: Replacement"; the registry schema does not list it.
    assert "/properties/KeySchema" not in create_only_properties("AWS::DynamoDB::Table")
    base = template(Table=resource("AWS::DynamoDB::Table", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}]))
    head = template(Table=resource("AWS::DynamoDB::Table", KeySchema=[{"AttributeName": "b", "KeyType": "HASH"}]))

    assert only(compare(base, head)).kind == "changed"
    change = only(compare(base, head, cli_verdicts={"Table": "it requires replacement"}))
    assert (change.kind, change.details) == ("replaced", ("the CDK CLI says it requires replacement",))
    assert len(judge("Foundation", [change])[0]) == 1


@pytest.mark.parametrize("type_", sorted(NOT_GATED))
def test_data_sources_and_log_groups_are_noted_not_gated(type_: str) -> None:
    base = template(Thing=resource(type_, "Foundation/Thing"))

    gated, noted = judge("Foundation", compare(base, template()))

    assert gated == []
    assert noted == [f"Foundation: {type_} Thing (Foundation/Thing) would be REMOVED: deleted with {HOLDS[type_]}"]


def test_a_new_chunking_strategy_replaces_the_data_source_without_failing() -> None:
    base = template(
        Source=resource(
            "AWS::Bedrock::DataSource",
            VectorIngestionConfiguration={"ChunkingConfiguration": {"ChunkingStrategy": "FIXED_SIZE"}},
        )
    )
    head = template(
        Source=resource(
            "AWS::Bedrock::DataSource",
            VectorIngestionConfiguration={"ChunkingConfiguration": {"ChunkingStrategy": "HIERARCHICAL"}},
        )
    )

    gated, noted = judge("Foundation", compare(base, head))

    assert gated == []
    assert noted == [
        "Foundation: AWS::Bedrock::DataSource Source (no construct path) would be REPLACED (create-only "
        "VectorIngestionConfiguration.ChunkingConfiguration changed): the old one is deleted with its ingestion "
        "history (every document is ingested again)"
    ]


def test_stateless_replacements_are_listed_but_not_gated() -> None:
    base = template(Function=resource("AWS::Lambda::Function", FunctionName="a"))
    head = template(Function=resource("AWS::Lambda::Function", FunctionName="b"))

    change = only(compare(base, head))

    assert change.line() == "[-/+] AWS::Lambda::Function - Function: create-only FunctionName changed"
    assert judge("Application", [change]) == ([], [])


def test_construct_paths_and_cdk_metadata_are_not_changes() -> None:
    base = template(
        Bucket=resource("AWS::S3::Bucket", "Foundation/Old/Bucket"),
        CDKMetadata=resource("AWS::CDK::Metadata", Analytics="v2:a"),
    )
    head = template(Bucket=resource("AWS::S3::Bucket", "Foundation/New/Bucket"))

    assert compare(base, head) == []


def test_pointers_with_a_wildcard_compare_every_item() -> None:
    def create_only(type_: str) -> tuple[str, ...]:
        return ("/properties/Indexes/*/Name",)

    base = template(Thing=resource("Test::Thing", Indexes=[{"Name": "a", "Size": 1}, {"Name": "b", "Size": 1}]))
    resized = template(Thing=resource("Test::Thing", Indexes=[{"Name": "a", "Size": 2}, {"Name": "b", "Size": 2}]))
    renamed = template(Thing=resource("Test::Thing", Indexes=[{"Name": "a", "Size": 1}, {"Name": "c", "Size": 1}]))

    assert only(compare(base, resized, create_only=create_only)).kind == "changed"
    assert only(compare(base, renamed, create_only=create_only)).details == ("create-only Indexes.*.Name changed",)


def test_references_are_read_from_ref_getatt_and_sub() -> None:
    value = {
        "A": {"Ref": "Bucket"},
        "B": {"Fn::GetAtt": ["Key", "Arn"]},
        "C": {"Fn::GetAtt": "Index.IndexArn"},
        "D": {"Fn::Sub": "${Table.Arn}/index/${!Literal}:${AWS::Region}"},
        "E": {"Fn::Sub": ["${Name}", {"Name": {"Ref": "Memory"}}]},
        "F": {"Ref": "AWS::AccountId"},
    }

    assert references(value) == {"Bucket", "Key", "Index", "Table", "Name", "Memory"}


def test_every_gated_type_has_a_schema_in_cfn_lint() -> None:
    assert create_only_properties("AWS::S3Vectors::Index")[:2] == ("/properties/DataType", "/properties/Dimension")
    assert "/properties/EncryptionKeyArn" in create_only_properties("AWS::BedrockAgentCore::Memory")
    assert create_only_properties("Custom::Anything") == ("/properties/ServiceToken",)
    assert create_only_properties("AWS::Not::AType") == ()


def test_cli_verdicts_are_read_from_the_resource_lines() -> None:
    output = "\n".join(
        [
            "Resources",
            "[~] AWS::S3::Bucket Documents/Bucket DocumentsBucket089EA665 replace",
            " └─ [~] BucketName (requires replacement)",
            "[~] AWS::Lambda::Function Api/Function ApiFunction1 may be replaced",
            "[~] AWS::Bedrock::Guardrail Guardrail Guardrail91D61981",
            "[-] AWS::S3::Bucket Old OldBucket orphan",
        ]
    )

    assert cli_verdicts(output) == {
        "DocumentsBucket089EA665": "it requires replacement",
        "ApiFunction1": "it may be replaced",
    }


def test_cli_details_drop_the_heading_and_the_count() -> None:
    output = (
        "\nStack Application (P-Application)\nResources\n[~] AWS::X Y Z\n\n\n✨  Number of stacks with differences: 1\n"
    )

    assert cli_details(output) == ["Resources", "[~] AWS::X Y Z"]


def test_the_environment_has_no_aws_credentials_or_configuration(tmp_path: Path) -> None:
    parent = {
        "PATH": "/usr/bin",
        "HTTPS_PROXY": "http://proxy:3128",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_PROFILE": "prod",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.2/creds",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token",
        "CDK_DEFAULT_ACCOUNT": "123456789012",
    }

    env = offline_environment(parent, tmp_path)

    assert {name for name in env if name.startswith("AWS_")} == {
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_EC2_METADATA_DISABLED",
    }
    assert not Path(env["AWS_CONFIG_FILE"]).exists()
    assert not Path(env["AWS_SHARED_CREDENTIALS_FILE"]).exists()
    assert (env["PATH"], env["HTTPS_PROXY"], env["AWS_EC2_METADATA_DISABLED"]) == (
        "/usr/bin",
        parent["HTTPS_PROXY"],
        "true",
    )
    assert "CDK_DEFAULT_ACCOUNT" not in env


def write_assembly(outdir: Path, templates: Mapping[str, Template]) -> None:
    """A cloud assembly of environment-agnostic stacks, as `cdk synth` writes it."""
    outdir.mkdir(parents=True, exist_ok=True)
    artifacts = {}
    for name, body in templates.items():
        (outdir / f"{name}.template.json").write_text(json.dumps(body))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": "aws://unknown-account/unknown-region",
            "properties": {"templateFile": f"{name}.template.json", "stackName": f"Demo-{name}"},
            "displayName": name,
        }
    manifest = {"version": "55.0.0", "artifacts": artifacts}
    (outdir / "manifest.json").write_text(json.dumps(manifest))


class Listener:
    """A TCP port that records every connection: the HTTPS proxy any AWS call would go through."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.requests: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                self.requests.append(connection.recv(4096))

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


TABLE_KEY_CHANGE = (
    template(
        Table=resource("AWS::DynamoDB::Table", "Data/Table", KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}])
    ),
    template(
        Table=resource("AWS::DynamoDB::Table", "Data/Table", KeySchema=[{"AttributeName": "b", "KeyType": "HASH"}])
    ),
)


def credentials_and_proxy(proxy: Listener) -> dict[str, str]:
    """The parent environment of a developer with credentials, every HTTPS request sent through `proxy`."""
    return {
        **{name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_REGION": "us-east-1",
        "HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}",
        "https_proxy": f"http://127.0.0.1:{proxy.port}",
    }


def test_the_cli_diff_calls_nothing_and_reports_the_replacement(tmp_path: Path, proxy: Listener) -> None:
    base, head = TABLE_KEY_CHANGE
    write_assembly(tmp_path / "head", {"Data": head})
    (tmp_path / "base.json").write_text(json.dumps(base))

    output = cdk_diff(
        tmp_path / "head", "Data", tmp_path / "base.json", offline_environment(credentials_and_proxy(proxy), tmp_path)
    )

    assert proxy.requests == []
    assert cli_verdicts(output) == {"Table": "it requires replacement"}
    assert "KeySchema (requires replacement)" in output


def test_without_that_environment_the_cli_would_call_sts(tmp_path: Path, proxy: Listener) -> None:
    """The control of the test above: credentials in the environment reach the proxy."""
    base, head = TABLE_KEY_CHANGE
    write_assembly(tmp_path / "head", {"Data": head})
    (tmp_path / "base.json").write_text(json.dumps(base))
    command = ["diff", "--app", str(tmp_path / "head"), "--template", str(tmp_path / "base.json"), "Data", *CLI_FLAGS]

    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), *command],
        cwd=tmp_path,
        env=credentials_and_proxy(proxy),
        capture_output=True,
        check=False,
        timeout=120,
    )

    assert any(b"sts." in request for request in proxy.requests), proxy.requests


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run([GIT, *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose committed bucket name is `docs-a` and whose working tree says `docs-b`."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet")
    (root / "bucket.txt").write_text("docs-a")
    git(root, "add", "bucket.txt")
    git(root, "commit", "--quiet", "-m", "A bucket")
    (root / "bucket.txt").write_text("docs-b")
    return root


class FakeSynth:
    """Builds each tree's assembly from its bucket.txt, and records the environment it was given."""

    def __init__(self) -> None:
        self.trees: list[Path] = []
        self.env: Mapping[str, str] = {}

    def __call__(self, context: Sequence[str], env: Mapping[str, str]) -> Synthesizer:
        self.env = env

        def synth(tree: Path, outdir: Path) -> None:
            self.trees.append(tree)
            name = (tree / "bucket.txt").read_text()
            bucket = resource("AWS::S3::Bucket", "Data/Bucket", BucketName=name)
            write_assembly(outdir, {"Data": template(Bucket=with_policy(bucket, UpdateReplacePolicy="Retain"))})

        return synth


@pytest.mark.parametrize(("flags", "code"), [([], 1), (["--allow-replace"], 0)])
def test_main_compares_the_working_tree_with_the_base_ref(
    repo: Path, flags: list[str], code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    synth = FakeSynth()

    assert main(["--base", "HEAD", *flags], root=repo, synthesizer=synth) == code

    out = capsys.readouterr().out.splitlines()
    base_tree = next(tree for tree in synth.trees if tree != repo)
    assert not base_tree.exists(), "the base worktree is removed"
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert "AWS_ACCESS_KEY_ID" not in synth.env
    assert out[1:3] == [
        "== Data (Demo-Data): 1 replaced",
        "  [-/+] AWS::S3::Bucket Data/Bucket Bucket: create-only BucketName changed; the CDK CLI says it requires "
        "replacement",
    ]
    assert out[3:9] == [
        "",
        "Resources",
        "[~] AWS::S3::Bucket Bucket Bucket replace",
        " └─ [~] BucketName (requires replacement)",
        "     ├─ [-] docs-a",
        "     └─ [+] docs-b",
    ]
    what = (
        "Data: AWS::S3::Bucket Bucket (Data/Bucket) would be REPLACED (create-only BucketName changed; the CDK CLI "
        "says it requires replacement): the old one is kept with its objects, unused"
    )
    if code:
        assert out[-2:] == [
            f"template-diff: FAIL: {what}",
            "template-diff: 1 stateful resource(s) would be replaced or removed; if that is intended, run again with "
            "ALLOW_REPLACE=1",
        ]
    else:
        assert out[-1] == f"template-diff: allowed by ALLOW_REPLACE=1: {what}"


def test_a_ref_that_is_not_a_commit_stops_with_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base", "no-such-branch"], root=repo, synthesizer=FakeSynth()) == 2

    assert (
        capsys.readouterr().err == f"template-diff: BASE=no-such-branch is not a commit of the repository at {repo}\n"
    )


def test_a_failed_synth_stops_with_2_and_removes_the_worktree(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def failing(context: Sequence[str], env: Mapping[str, str]) -> Synthesizer:
        def synth(tree: Path, outdir: Path) -> None:
            raise RunError(f"cdk synth failed in {tree}:\nconfig error: nope")

        return synth

    assert main(["--base", "HEAD"], root=repo, synthesizer=failing) == 2

    assert "config error: nope" in capsys.readouterr().err
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1

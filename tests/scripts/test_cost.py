"""scripts/cost.py against small hand-built cloud assemblies, and the dated price table it reads."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scripts.cost import (
    DEFAULT_PRICES,
    PERIODS,
    Estimate,
    PerUsePrice,
    Price,
    estimate,
    load_assembly,
    load_prices,
    main,
    render_text,
)
from tests.synth import Assembly

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cost.py"
PRICES = load_prices(DEFAULT_PRICES)
JOIN_SERVICE = {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".bedrock-runtime"]]}

# Monthly costs worked out by hand from the us-east-1 list prices and 730 hours a month.
ENDPOINT_AZ_MONTH = 7.30  # $0.01 an hour
NAT_MONTH = 32.85  # $0.045 an hour
PUBLIC_IP_MONTH = 3.65  # $0.005 an hour
OCU_MONTH = 175.20  # $0.24 an hour
CACHE_MONTH = 14.60  # $0.02 an hour
BUDGET_ACTION_MONTH = 0.10 * 730 / 24  # $0.10 a day


def resource(type_: str, path: str = "", **props: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Type": type_, "Properties": props}
    if path:
        body["Metadata"] = {"aws:cdk:path": f"{path}/Resource"}
    return body


def write_assembly(directory: Path, stacks: dict[str, dict[str, Any]], *, manifest: bool = True) -> Path:
    """A cloud assembly holding one template per stack, listed in manifest.json like `cdk synth` does."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {"Tree": {"type": "cdk:tree", "properties": {"file": "tree.json"}}}
    for name, resources in stacks.items():
        (directory / f"{name}.template.json").write_text(json.dumps({"Resources": resources}), encoding="utf-8")
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "displayName": name,
            "properties": {"templateFile": f"{name}.template.json", "stackName": f"Test-{name}"},
        }
    if manifest:
        (directory / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    return directory


def run(tmp_path: Path, resources: dict[str, Any]) -> Estimate:
    return estimate(load_assembly(write_assembly(tmp_path / "cdk.out", {"Stack": resources})), PRICES)


def monthly(result: Estimate) -> dict[tuple[str, str], float]:
    """Monthly cost by (logical id, price key)."""
    return {(line.logical_id, line.price_key): line.monthly for stack in result.stacks for line in stack.lines}


# --- one priced resource type at a time ---


def test_an_interface_endpoint_bills_each_az_it_has_a_subnet_in(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "Runtime": resource(
                "AWS::EC2::VPCEndpoint",
                "Stack/Vpc/Runtime",
                VpcEndpointType="Interface",
                ServiceName=JOIN_SERVICE,
                SubnetIds=[{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            ),
            "Xray": resource(
                "AWS::EC2::VPCEndpoint",
                VpcEndpointType="Interface",
                ServiceName="com.amazonaws.us-east-1.xray",
                SubnetIds=[{"Ref": "SubnetA"}],
            ),
            "S3": resource("AWS::EC2::VPCEndpoint", ServiceName="com.amazonaws.us-east-1.s3"),
        },
    )

    (runtime, xray) = result.stacks[0].lines
    assert (runtime.quantity, runtime.quantity_label, runtime.path) == (2, "2 AZs", "Stack/Vpc/Runtime")
    assert runtime.what == "interface endpoint bedrock-runtime"
    assert runtime.monthly == pytest.approx(2 * ENDPOINT_AZ_MONTH)
    assert (xray.what, xray.path) == ("interface endpoint xray", "Xray")
    assert xray.monthly == pytest.approx(ENDPOINT_AZ_MONTH)
    assert result.total == pytest.approx(3 * ENDPOINT_AZ_MONTH)  # the gateway endpoint is free


def test_a_nat_gateway_bills_hourly_and_so_does_its_elastic_ip(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {"Eip": resource("AWS::EC2::EIP", Domain="vpc"), "Nat": resource("AWS::EC2::NatGateway", SubnetId="s")},
    )

    assert monthly(result) == {
        ("Eip", "public_ipv4"): pytest.approx(PUBLIC_IP_MONTH),
        ("Nat", "nat_gateway"): pytest.approx(NAT_MONTH),
    }


def test_a_kms_key_is_a_dollar_a_month_and_rotation_is_a_note(tmp_path: Path) -> None:
    result = run(tmp_path, {"Key": resource("AWS::KMS::Key", "Stack/Key", EnableKeyRotation=True)})

    assert monthly(result) == {("Key", "kms_key"): pytest.approx(1.00)}
    assert result.notes[0].startswith("Stack/Key: rotation every 365 days adds $1/month after the first rotation")


def test_a_web_acl_bills_itself_and_each_rule_and_only_paid_managed_groups_add_a_subscription(
    tmp_path: Path,
) -> None:
    def managed(name: str) -> dict[str, Any]:
        return {"Name": name, "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name}}}

    free_groups = [
        managed("AWSManagedRulesAmazonIpReputationList"),
        managed("AWSManagedRulesCommonRuleSet"),
        managed("AWSManagedRulesKnownBadInputsRuleSet"),
    ]
    rate = {"Name": "RequestsPerIp", "Statement": {"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}}}
    result = run(
        tmp_path,
        {
            "Acl": resource("AWS::WAFv2::WebACL", Scope="REGIONAL", Rules=[*free_groups, rate]),
            "Bots": resource("AWS::WAFv2::WebACL", Rules=[managed("AWSManagedRulesBotControlRuleSet")]),
        },
    )

    assert monthly(result) == {
        ("Acl", "waf_web_acl"): pytest.approx(5.00),
        ("Acl", "waf_rule"): pytest.approx(4.00),
        ("Bots", "waf_web_acl"): pytest.approx(5.00),
        ("Bots", "waf_rule"): pytest.approx(1.00),
        ("Bots", "waf_bot_control"): pytest.approx(10.00),
    }


@pytest.mark.parametrize(
    ("standby", "ocus", "label"),
    [
        ({"StandbyReplicas": "DISABLED"}, 1.0, "0.5 indexing + 0.5 search OCU"),
        ({"StandbyReplicas": "ENABLED"}, 2.0, "1 indexing + 1 search OCU"),
        ({}, 2.0, "1 indexing + 1 search OCU"),  # CloudFormation's default is ENABLED
    ],
)
def test_an_opensearch_collection_bills_its_minimum_ocus(
    tmp_path: Path, standby: dict[str, str], ocus: float, label: str
) -> None:
    result = run(
        tmp_path, {"Collection": resource("AWS::OpenSearchServerless::Collection", Type="VECTORSEARCH", **standby)}
    )

    (line,) = result.stacks[0].lines
    assert (line.quantity, line.quantity_label) == (ocus, label)
    assert line.monthly == pytest.approx(ocus * OCU_MONTH)


def test_collections_in_a_group_bill_through_the_group(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "Member": resource("AWS::OpenSearchServerless::Collection", CollectionGroupName="shared"),
            "Group": resource(
                "AWS::OpenSearchServerless::CollectionGroup",
                Name="shared",
                StandbyReplicas="ENABLED",
                CapacityLimits={"MinIndexingCapacityInOcu": 2, "MinSearchCapacityInOcu": 1},
            ),
            "NextGen": resource(
                "AWS::OpenSearchServerless::CollectionGroup", Name="z", StandbyReplicas="DISABLED", Generation="NEXTGEN"
            ),
        },
    )

    assert monthly(result) == {
        ("Group", "opensearch_ocu"): pytest.approx(3 * OCU_MONTH),
        ("NextGen", "opensearch_ocu"): 0.0,  # NextGen groups scale to zero when no minimum is set
    }


def test_alarms_bill_per_alarm_metric_and_dashboards_per_dashboard(tmp_path: Path) -> None:
    def stat(id_: str, period: int = 300) -> dict[str, Any]:
        return {"Id": id_, "MetricStat": {"Metric": {"MetricName": id_}, "Period": period, "Stat": "Sum"}}

    result = run(
        tmp_path,
        {
            "Plain": resource("AWS::CloudWatch::Alarm", MetricName="Errors", Period=300),
            "Fast": resource("AWS::CloudWatch::Alarm", MetricName="Errors", Period=10),
            "Math": resource(
                "AWS::CloudWatch::Alarm", Metrics=[stat("a"), stat("b"), {"Id": "e", "Expression": "a/b"}]
            ),
            "Anomaly": resource(
                "AWS::CloudWatch::Alarm",
                ThresholdMetricId="band",
                Metrics=[stat("m"), {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(m, 2)"}],
            ),
            "Composite": resource("AWS::CloudWatch::CompositeAlarm", AlarmRule="ALARM(Plain)"),
            "Board": resource("AWS::CloudWatch::Dashboard", DashboardBody="{}"),
        },
    )

    assert monthly(result) == {
        ("Plain", "cloudwatch_alarm"): pytest.approx(0.10),
        ("Fast", "cloudwatch_alarm_high_resolution"): pytest.approx(0.30),
        ("Math", "cloudwatch_alarm"): pytest.approx(0.20),
        ("Anomaly", "cloudwatch_alarm"): pytest.approx(0.30),
        ("Composite", "cloudwatch_composite_alarm"): pytest.approx(0.50),
        ("Board", "cloudwatch_dashboard"): pytest.approx(3.00),
    }
    assert "CloudWatch: the first 3 dashboards (up to 50 metrics each) in an account are free (not subtracted)" in (
        result.notes
    )
    assert any("first 10 standard-resolution alarm metrics" in note for note in result.notes)


def test_secrets_budget_actions_and_machine_clients_bill_monthly_but_budgets_and_people_clients_do_not(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path,
        {
            "Secret": resource("AWS::SecretsManager::Secret", ReplicaRegions=[{"Region": "us-west-2"}]),
            "Budget": resource("AWS::Budgets::Budget", Budget={"BudgetType": "COST"}),
            "Action": resource("AWS::Budgets::BudgetsAction", BudgetName="b"),
            "Stage": resource("AWS::ApiGateway::Stage", StageName="prod", CacheClusterEnabled=True),
            "Plain": resource("AWS::ApiGateway::Stage", StageName="dev"),
        },
    )

    assert monthly(result) == {
        ("Secret", "secrets_manager_secret"): pytest.approx(0.80),  # the replica is a second secret
        ("Budget", "budget"): 0.0,  # listed, at the Price List's $0.00 a budget-day without actions
        ("Action", "budget_action"): pytest.approx(BUDGET_ACTION_MONTH),
        ("Stage", "api_gateway_cache"): pytest.approx(CACHE_MONTH),
    }
    assert not result.unpriced


def test_agentcore_resources_are_listed_at_zero_with_their_per_use_prices(tmp_path: Path) -> None:
    result = run(tmp_path, {"Memory": resource("AWS::BedrockAgentCore::Memory", "Stack/Agent/Memory", Name="m")})

    (line,) = result.stacks[0].lines
    assert (line.path, line.monthly) == ("Stack/Agent/Memory", 0.0)
    assert "no idle charge" in line.what
    assert {price.service for price in result.per_use} == {"AgentCore Memory"}


@pytest.mark.parametrize(
    ("schedule", "label"),
    [
        ("rate(15 minutes)", "2,920 runs a month"),
        ("rate(1 minute)", "43,800 runs a month"),
        ("rate(2 hours)", "365 runs a month"),
        ("rate(1 day)", "30 runs a month"),
        ("cron(0 6 * * ? *)", "1 rule"),
    ],
)
def test_a_scheduled_rule_is_free_and_says_how_often_it_runs_its_targets(
    tmp_path: Path, schedule: str, label: str
) -> None:
    result = run(
        tmp_path,
        {
            "Schedule": resource("AWS::Events::Rule", "Stack/Schedule", ScheduleExpression=schedule),
            "Pattern": resource("AWS::Events::Rule", EventPattern={"source": ["aws.s3"]}),
        },
    )

    (line,) = result.stacks[0].lines
    assert (line.logical_id, line.price_key, line.monthly) == ("Schedule", "eventbridge_scheduled_rule", 0.0)
    assert line.quantity_label == label
    assert schedule in line.what
    assert any(note.startswith(f"Stack/Schedule: {schedule} runs its targets") for note in result.notes)
    assert [s.logical_id for s in result.skipped] == ["Pattern"]  # a rule on events bills nothing itself
    assert not result.unpriced


def test_what_bills_only_with_traffic_is_free_while_idle_and_listed_with_verbose(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "Profile": resource("AWS::Bedrock::ApplicationInferenceProfile", InferenceProfileName="p"),
            "Function": resource("AWS::Lambda::Function", MemorySize=256),
            "Version": resource("AWS::Lambda::Version", FunctionName={"Ref": "Function"}),
            "Mapping": resource("AWS::Lambda::EventSourceMapping", BatchSize=10),
            "Table": resource("AWS::DynamoDB::Table", BillingMode="PAY_PER_REQUEST"),
            "Sync": resource("Custom::KnowledgeBaseSync", ServiceToken="arn"),
            "Plain": resource("AWS::CloudFormation::CustomResource", ServiceToken="arn"),
            "Topic": resource("AWS::SNS::Topic"),
            "Subscription": resource("AWS::SNS::Subscription", Protocol="email"),
        },
    )

    assert result.total == 0.0
    assert not result.stacks[0].lines
    assert not result.unpriced
    assert {s.logical_id: s.reason for s in result.skipped} == dict.fromkeys(
        ("Profile", "Function", "Version", "Mapping", "Table", "Sync", "Plain", "Topic", "Subscription"),
        "no idle charge",
    )


@pytest.mark.parametrize(
    ("type_", "props", "reason"),
    [
        ("AWS::Lambda::Alias", {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}}, "concurrency"),
        (
            "AWS::Lambda::Version",
            {"ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 1}},
            "concurrency",
        ),
        ("AWS::Lambda::EventSourceMapping", {"ProvisionedPollerConfig": {"MinimumPollers": 1}}, "pollers"),
        ("AWS::DynamoDB::Table", {"BillingMode": "PROVISIONED"}, "capacity"),
        ("AWS::DynamoDB::Table", {}, "capacity"),  # CloudFormation's default billing mode is PROVISIONED
        # A family no longer vouches for its members: these two bill while idle.
        ("AWS::EC2::RouteServer", {"AmazonSideAsn": 65000}, "no price rule for this type"),
        ("AWS::Cognito::UserPoolReplica", {}, "no price rule for this type"),
        ("AWS::Made::Up", {}, "no price rule for this type"),
    ],
)
def test_what_may_bill_while_idle_without_a_price_is_never_counted_as_free_in_silence(
    tmp_path: Path, type_: str, props: dict[str, Any], reason: str
) -> None:
    result = run(tmp_path, {"Thing": resource(type_, "Stack/Thing", **props), "Key": resource("AWS::KMS::Key")})

    (unpriced,) = result.unpriced
    assert (unpriced.path, unpriced.resource_type) == ("Stack/Thing", type_)
    assert reason in unpriced.reason
    assert "Thing" not in {s.logical_id for s in result.skipped}
    assert result.total == pytest.approx(1.00)


# --- totals, output and options ---


def test_totals_add_up_per_stack_and_overall(tmp_path: Path) -> None:
    directory = write_assembly(
        tmp_path / "cdk.out",
        {
            "Foundation": {
                "Key": resource("AWS::KMS::Key"),
                "Nat": resource("AWS::EC2::NatGateway"),
                "Role": resource("AWS::IAM::Role"),
            },
            "Application": {"Board": resource("AWS::CloudWatch::Dashboard")},
        },
    )

    result = estimate(load_assembly(directory), PRICES)

    assert [(stack.name, stack.stack_name) for stack in result.stacks] == [
        ("Foundation", "Test-Foundation"),
        ("Application", "Test-Application"),
    ]
    assert [stack.total for stack in result.stacks] == [pytest.approx(1.00 + NAT_MONTH), pytest.approx(3.00)]
    assert result.total == pytest.approx(1.00 + NAT_MONTH + 3.00)


def test_the_text_report_lists_each_charge_the_totals_the_per_use_prices_and_what_is_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_assembly(
        tmp_path / "cdk.out",
        {
            "Foundation": {
                "Key": resource("AWS::KMS::Key", "Foundation/Encryption/Key"),
                "Fn": resource("AWS::Lambda::Function", "Foundation/Fn"),
            }
        },
    )

    assert main(["--assembly", str(directory)]) == 0

    out = capsys.readouterr().out
    assert "Foundation (Test-Foundation)\n" in out
    line = next(line for line in out.splitlines() if line.startswith("  Foundation/Encryption/Key"))
    assert re.split(r"\s{2,}", line.strip()) == [
        "Foundation/Encryption/Key",
        "customer managed KMS key",
        "1 key",
        "$1.00/month",
        "$1.00",
    ]
    assert "  Foundation total: $1.00 a month\n" in out
    assert "\nTotal: $1.00 a month while idle\n" in out
    assert "  KMS: $0.03 per 10,000 requests, 20,000 requests a month free\n" in out
    assert "  Lambda: $0.20 per 1M requests, 1M requests a month free; $0.0000166667 per GB-second (x86)" in out
    assert "DynamoDB" not in out  # per-use prices only for what the stacks hold
    assert out.splitlines()[-1].startswith("Not included: Amazon Bedrock model and embedding tokens")


def test_json_carries_every_line_with_its_price_source_and_the_totals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_assembly(
        tmp_path / "cdk.out",
        {"A": {"Nat": resource("AWS::EC2::NatGateway", "A/Nat")}, "B": {"Key": resource("AWS::KMS::Key")}},
    )

    assert main(["--assembly", str(directory), "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["region"] == "us-east-1"
    assert report["total_usd"] == 33.85
    assert [(s["name"], s["total_usd"]) for s in report["stacks"]] == [("A", 32.85), ("B", 1.00)]
    (nat,) = report["stacks"][0]["resources"]
    assert nat["logical_id"] == "Nat"
    assert nat["path"] == "A/Nat"
    assert nat["type"] == "AWS::EC2::NatGateway"
    assert (nat["unit_price_usd"], nat["per"], nat["monthly_usd"]) == (0.045, "hour", 32.85)
    assert nat["source"] == "https://aws.amazon.com/vpc/pricing/"
    assert datetime.date.fromisoformat(nat["as_of"])
    assert {p["key"] for p in report["per_use"]} == {"nat_gateway_data", "kms_requests"}
    assert "Bedrock" in report["not_included"]


@pytest.mark.parametrize(("limit", "code"), [("32.84", 1), ("32.85", 0), ("40", 0)])
def test_max_total_fails_only_above_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: str, code: int
) -> None:
    directory = write_assembly(tmp_path / "cdk.out", {"A": {"Nat": resource("AWS::EC2::NatGateway")}})

    assert main(["--assembly", str(directory), "--max-total", limit]) == code

    err = capsys.readouterr().err
    assert ("above --max-total" in err) == (code == 1)


def test_the_script_runs_from_the_command_line_and_exits_1_above_the_limit(tmp_path: Path) -> None:
    directory = write_assembly(tmp_path / "cdk.out", {"A": {"Key": resource("AWS::KMS::Key")}})

    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--assembly", str(directory), "--max-total", "0.5"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert "Total: $1.00 a month while idle" in done.stdout
    assert "idle total $1.00 a month is above --max-total $0.50" in done.stderr


def test_verbose_lists_what_costs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_assembly(tmp_path / "cdk.out", {"A": {"Queue": resource("AWS::SQS::Queue", "A/Queue")}})

    assert main(["--assembly", str(directory)]) == 0
    assert "A/Queue" not in capsys.readouterr().out

    assert main(["--assembly", str(directory), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "  A  A/Queue  AWS::SQS::Queue: no idle charge\n" in out
    assert "\nTotal: $0.00 a month while idle\n" in out


def test_a_type_without_a_price_is_shown_left_out_of_the_total_and_fails_max_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = write_assembly(
        tmp_path / "cdk.out",
        {"A": {"Key": resource("AWS::KMS::Key", "A/Key"), "Odd": resource("AWS::Made::Up", "A/Odd")}},
    )

    assert main(["--assembly", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "\nTotal: $1.00 a month while idle, not counting 1 resource not priced (below)\n" in out
    assert "  A  A/Odd  AWS::Made::Up: no price rule for this type\n" in out

    assert main(["--assembly", str(directory), "--max-total", "100"]) == 1
    assert "cannot check --max-total: 1 resource not priced" in capsys.readouterr().err

    assert main(["--assembly", str(directory), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["total_usd"], report["total_is_complete"]) == (1.00, False)
    assert [(u["path"], u["type"]) for u in report["unpriced"]] == [("A/Odd", "AWS::Made::Up")]


def test_without_a_manifest_every_template_is_read(tmp_path: Path) -> None:
    directory = write_assembly(tmp_path / "out", {"One": {"Key": resource("AWS::KMS::Key")}}, manifest=False)

    assert [stack.name for stack in load_assembly(directory)] == ["One"]


def test_stacks_of_a_nested_stage_assembly_are_read(tmp_path: Path) -> None:
    outer = tmp_path / "cdk.out"
    write_assembly(outer / "assembly-Prod", {"Inner": {"Key": resource("AWS::KMS::Key")}})
    manifest = {
        "artifacts": {"assembly-Prod": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Prod"}}}
    }
    (outer / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    assert [stack.stack_name for stack in load_assembly(outer)] == ["Test-Inner"]


def test_a_missing_assembly_says_to_synthesize_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--assembly", str(tmp_path / "nowhere")]) == 2
    assert "run `make synth` first" in capsys.readouterr().err


# --- the price table ---


def test_every_price_has_a_source_and_a_date() -> None:
    today = datetime.datetime.now(tz=datetime.UTC).date()
    prices: list[Price | PerUsePrice] = [*PRICES.idle.values(), *PRICES.per_use]

    for price in prices:
        assert price.source.startswith("https://aws.amazon.com/"), price.key
        assert isinstance(price.as_of, datetime.date), price.key
        assert price.as_of <= today, price.key
        assert price.usd >= 0, price.key
    assert all(price.per in PERIODS for price in PRICES.idle.values())
    assert PRICES.region == "us-east-1"
    assert PRICES.hours_per_month == 730


def test_per_use_prices_apply_to_resource_types_or_idle_prices_that_exist() -> None:
    for price in PRICES.per_use:
        assert price.applies_to, price.key
        for name in price.applies_to:
            assert "::" in name or name in PRICES.idle, (price.key, name)


def test_the_rules_use_every_idle_price_and_nothing_outside_the_table(tmp_path: Path) -> None:
    everything = {
        "Endpoint": resource("AWS::EC2::VPCEndpoint", VpcEndpointType="Interface", SubnetIds=["a"]),
        "Nat": resource("AWS::EC2::NatGateway"),
        "Eip": resource("AWS::EC2::EIP"),
        "Key": resource("AWS::KMS::Key"),
        "Acl": resource(
            "AWS::WAFv2::WebACL",
            Rules=[
                {"Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name}}}
                for name in ("AWSManagedRulesBotControlRuleSet", "AWSManagedRulesATPRuleSet")
            ],
        ),
        "Collection": resource("AWS::OpenSearchServerless::Collection"),
        "Board": resource("AWS::CloudWatch::Dashboard"),
        "Alarm": resource("AWS::CloudWatch::Alarm", Period=60),
        "Fast": resource("AWS::CloudWatch::Alarm", Period=10),
        "Composite": resource("AWS::CloudWatch::CompositeAlarm"),
        "Secret": resource("AWS::SecretsManager::Secret"),
        "Action": resource("AWS::Budgets::BudgetsAction"),
        "Stage": resource("AWS::ApiGateway::Stage", CacheClusterEnabled=True),
        "Gateway": resource("AWS::BedrockAgentCore::Gateway"),
        "Budget": resource("AWS::Budgets::Budget", Budget={"BudgetType": "COST"}),
        "Schedule": resource("AWS::Events::Rule", ScheduleExpression="rate(1 hour)"),
    }

    result = run(tmp_path, everything)

    assert {line.price_key for line in result.stacks[0].lines} == set(PRICES.idle)


# --- the idle budgets of the named configurations (tests/synth.py), from the session's synthesized assemblies ---

# The ceilings: the default (dev) configuration and prod, each with the agent on AgentCore.
IDLE_BUDGETS = {"assembly": 40.00, "prod_assembly": 90.00}


@pytest.mark.parametrize(("variant", "ceiling"), IDLE_BUDGETS.items(), ids=["default", "prod"])
def test_the_named_configurations_stay_within_their_idle_budget(
    variant: str, ceiling: float, request: pytest.FixtureRequest
) -> None:
    assembly: Assembly = request.getfixturevalue(variant)

    result = estimate(load_assembly(assembly.outdir), PRICES)

    assert not result.unpriced, render_text(result)
    assert result.total <= ceiling, render_text(result)


@pytest.mark.parametrize("variant", ["assembly", "prod_assembly", "flipped_assembly"])
def test_every_resource_of_the_named_configurations_is_priced_or_known_to_be_free(
    variant: str, request: pytest.FixtureRequest
) -> None:
    assembly: Assembly = request.getfixturevalue(variant)

    result = estimate(load_assembly(assembly.outdir), PRICES)

    assert [(s.path, s.resource_type, s.reason) for s in result.unpriced] == []
    assert {stack.name for stack in result.stacks} == {"Foundation", "Application"}


def test_a_machine_client_bills_only_in_months_it_requests_tokens(tmp_path: Path) -> None:
    # Cognito bills "active" M2M app clients: an idle stack's client requests no token, so it is per-use.
    result = run(
        tmp_path, {"Machine": resource("AWS::Cognito::UserPoolClient", AllowedOAuthFlows=["client_credentials"])}
    )

    assert monthly(result) == {}
    assert not result.unpriced
    per_use = {price.key for price in result.per_use}
    assert {"cognito_m2m_tokens", "cognito_m2m_active_client"} <= per_use

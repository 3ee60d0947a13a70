"""The REST API: Cognito on every route but health, validation, throttling, logs, tracing, WAF, scoped IAM."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import assertions

from stacks.config import ROOT
from stacks.constructs.api import body_inspection_kb
from tests.synth import Assembly, one, resources_at

REGISTRY = json.loads((ROOT / "lambda/api/routes.json").read_text())
BUFFERED = {(route["method"], route["path"]): route for route in REGISTRY["routes"]}
STREAMED = {("POST", route["path"] + "/stream"): route for route in REGISTRY["routes"] if route.get("stream")}


def _one(template: assertions.Template, type_: str, path: str = "Application/Api/") -> tuple[str, dict[str, Any]]:
    return one(template, type_, path)


def _methods(template: assertions.Template) -> dict[tuple[str, str], dict[str, Any]]:
    """Every method but CORS preflights, by HTTP method and full path."""
    resources = template.find_resources("AWS::ApiGateway::Resource")

    def path(resource_id: dict[str, Any]) -> str:
        if "Ref" not in resource_id:  # the root resource: Fn::GetAtt RestApi.RootResourceId
            return ""
        properties = resources[resource_id["Ref"]]["Properties"]
        return f"{path(properties['ParentId'])}/{properties['PathPart']}"

    return {
        (m["Properties"]["HttpMethod"], path(m["Properties"]["ResourceId"])): m["Properties"]
        for m in template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    }


def _function(template: assertions.Template, name: str = "Function") -> tuple[str, dict[str, Any]]:
    return _one(template, "AWS::Lambda::Function", f"Application/Api/{name}/")


def test_every_route_of_the_registry_and_its_stream_is_a_method(application: assertions.Template) -> None:
    assert set(_methods(application)) == set(BUFFERED) | set(STREAMED)
    assert set(STREAMED) == {("POST", "/chat/stream"), ("POST", "/ask/stream"), ("POST", "/agent/stream")}


def test_every_route_but_the_public_ones_needs_a_cognito_token(application: assertions.Template) -> None:
    authorizer_id, authorizer = _one(application, "AWS::ApiGateway::Authorizer")
    pool_id, _ = _one(application, "AWS::Cognito::UserPool")

    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool_id, "Arn"]}]
    public = set()
    for route, method in _methods(application).items():
        if method["AuthorizationType"] == "NONE":
            public.add(route)
            continue
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
        assert method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["AuthorizationScopes"] == ["genai/invoke", "aws.cognito.signin.user.admin"]
    # Only the health check, which calls nothing and returns no data, is public.
    assert public == {("GET", "/health")}


def test_every_body_is_validated_against_its_schema_streams_included(application: assertions.Template) -> None:
    methods = _methods(application)
    validator_id, validator = _one(application, "AWS::ApiGateway::RequestValidator")
    models = {
        logical_id: m["Properties"]["Schema"]
        for logical_id, m in application.find_resources("AWS::ApiGateway::Model").items()
    }

    assert validator["Properties"]["ValidateRequestBody"] is True
    for key, route in {**BUFFERED, **STREAMED}.items():
        method = methods[key]
        if not route.get("request"):
            assert "RequestModels" not in method, key
            continue
        schema = REGISTRY["schemas"][route["request"]]
        # Under $default: API Gateway skips validation for a content type no model names.
        assert list(method["RequestModels"]) == ["$default"], key
        model_id = method["RequestModels"]["$default"]["Ref"]
        assert models[model_id] == {"$schema": "http://json-schema.org/draft-04/schema#", **schema}, key
        assert method["RequestValidatorId"] == {"Ref": validator_id}, key
        assert schema["additionalProperties"] is False


def test_buffered_routes_invoke_the_function_within_the_gateway_timeout(application: assertions.Template) -> None:
    function_id, function = _function(application)
    methods = _methods(application)
    for key in BUFFERED:
        integration = methods[key]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["TimeoutInMillis"] == 29000
        assert integration.get("ResponseTransferMode", "BUFFERED") == "BUFFERED"
        uri = json.dumps(integration["Uri"])
        assert function_id in uri
        assert uri.endswith('"/invocations"]]}')
    assert function["Properties"]["Timeout"] == 28


def test_stream_routes_stream_the_streaming_function_for_the_configured_time(
    application: assertions.Template,
) -> None:
    function_id, function = _function(application, "StreamFunction")
    methods = _methods(application)
    for key in STREAMED:
        integration = methods[key]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["ResponseTransferMode"] == "STREAM"
        assert integration["TimeoutInMillis"] == 300_000
        uri = json.dumps(integration["Uri"])
        assert ":lambda:path/2021-11-15/functions/" in uri
        assert function_id in uri
        assert uri.endswith('"/response-streaming-invocations"]]}')
    assert function["Properties"]["Timeout"] == 300


def test_the_streaming_function_runs_the_asgi_app_behind_the_web_adapter(application: assertions.Template) -> None:
    _, function = _function(application, "StreamFunction")
    properties = function["Properties"]
    environment = properties["Environment"]["Variables"]
    (mapping,) = application.to_json()["Mappings"].values()

    assert properties["Handler"] == "api/run.sh"
    assert environment["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert environment["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert environment["AWS_LWA_READINESS_CHECK_PATH"] == "/ready"
    layers = json.dumps(properties["Layers"])
    assert "AWSLambdaPowertoolsPythonV3-python314-arm64" in layers
    assert "Fn::FindInMap" in layers
    # One pinned layer version per region the stack can deploy to, all from the adapter's publishing account.
    assert set(mapping) >= {"us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"}
    for region, entry in mapping.items():
        assert entry["arn"] == f"arn:aws:lambda:{region}:753240598075:layer:LambdaAdapterLayerArm64:30"


def test_both_functions_share_the_settings_and_the_permissions(application: assertions.Template) -> None:
    _, buffered = _function(application)
    _, streaming = _function(application, "StreamFunction")
    own = {"POWERTOOLS_SERVICE_NAME", "STREAM_TIMEOUT_SECONDS"}
    lwa = {name for name in streaming["Properties"]["Environment"]["Variables"] if name.startswith("AWS_L")}
    first = {k: v for k, v in buffered["Properties"]["Environment"]["Variables"].items() if k not in own}
    second = {k: v for k, v in streaming["Properties"]["Environment"]["Variables"].items() if k not in own | lwa}
    statements = {
        path: [
            statement
            for statement in _one(application, "AWS::IAM::ManagedPolicy", f"Application/Api/{path}/")[1]["Properties"][
                "PolicyDocument"
            ]["Statement"]
            # Each function writes its own log group and dead-letter queue.
            if not json.dumps(statement["Resource"]).startswith(f'{{"Fn::GetAtt": ["Api{path}')
        ]
        for path in ("Function", "StreamFunction")
    }

    assert first == second
    assert len(statements["Function"]) > 5
    assert statements["Function"] == statements["StreamFunction"]


def test_only_this_api_may_invoke_either_function(application: assertions.Template) -> None:
    permissions = resources_at(application, "AWS::Lambda::Permission", "Application/Api/")
    rest_api_id, _ = _one(application, "AWS::ApiGateway::RestApi")
    function_ids = {_function(application)[0], _function(application, "StreamFunction")[0]}

    # One permission per function for the whole API: no per-method permissions.
    assert len(permissions) == 2
    assert {p["Properties"]["FunctionName"]["Fn::GetAtt"][0] for p in permissions.values()} == function_ids
    for permission in permissions.values():
        assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
        assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}
        assert {"Ref": rest_api_id} in permission["Properties"]["SourceArn"]["Fn::Join"][1]


def test_each_callers_model_calls_are_counted_in_an_expiring_encrypted_table(
    application: assertions.Template,
) -> None:
    table_id, table = _one(application, "AWS::DynamoDB::Table")
    _, function = _function(application)
    properties = table["Properties"]
    statements = _one(application, "AWS::IAM::ManagedPolicy", "Application/Api/Function/")[1]["Properties"][
        "PolicyDocument"
    ]["Statement"]

    assert properties["KeySchema"] == [{"AttributeName": "caller_window", "KeyType": "HASH"}]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEType"] == "KMS"
    # Counters that expire within two minutes: nothing to keep when the stack goes.
    assert table["DeletionPolicy"] == "Delete"
    assert function["Properties"]["Environment"]["Variables"]["USAGE_TABLE"] == {"Ref": table_id}
    (usage,) = [s for s in statements if json.dumps({"Fn::GetAtt": [table_id, "Arn"]}) in json.dumps(s["Resource"])]
    assert usage["Action"] == "dynamodb:UpdateItem"


def test_the_cost_bounds_reach_the_functions(application: assertions.Template) -> None:
    for name in ("Function", "StreamFunction"):
        environment = _function(application, name)[1]["Properties"]["Environment"]["Variables"]
        assert environment["MAX_TOKENS"] == "1024"
        assert environment["MAX_TOKENS_CEILING"] == "4096"
        assert environment["MAX_REQUEST_CHARACTERS"] == "24000"
        assert environment["CALLER_CALLS_PER_MINUTE"] == "20"
        assert environment["SYSTEM_PROMPT"]


def test_stage_throttles_logs_and_traces(application: assertions.Template) -> None:
    _, stage = _one(application, "AWS::ApiGateway::Stage")
    access_logs_id, access_logs = _one(application, "AWS::Logs::LogGroup", "Application/Api/AccessLogs/")
    properties = stage["Properties"]
    (settings,) = properties["MethodSettings"]

    assert properties["TracingEnabled"] is True
    assert settings["ThrottlingRateLimit"] == 10
    assert settings["ThrottlingBurstLimit"] == 20
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    assert access_logs_id in json.dumps(properties["AccessLogSetting"]["DestinationArn"])
    access_log = json.loads(properties["AccessLogSetting"]["Format"])
    assert access_log["requestId"] == "$context.requestId"
    # Who did what: the caller from the verified token, and whether the answer streamed.
    assert access_log["caller"] == "$context.authorizer.claims.sub"
    assert access_log["client"] == "$context.authorizer.claims.client_id"
    assert access_log["transferMode"] == "$context.integration.responseTransferMode"
    assert set(access_logs["Properties"]) - {"Tags"} == {"KmsKeyId", "RetentionInDays"}


def test_gateway_errors_use_the_api_error_shape(application: assertions.Template) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]["ResponseTemplates"]["application/json"]
        for r in application.find_resources("AWS::ApiGateway::GatewayResponse").values()
    }

    assert sorted(responses) == ["BAD_REQUEST_BODY", "DEFAULT_4XX", "DEFAULT_5XX"]
    for template in responses.values():
        assert '{"error": {"code":' in template
        assert '"requestId": "$context.requestId"' in template
    # A body that fails its schema says which field, in the same envelope.
    assert '"code": "BadRequest"' in responses["BAD_REQUEST_BODY"]
    assert '"message": "$context.error.validationErrorString"' in responses["BAD_REQUEST_BODY"]
    # Gateway response templates are simple substitution: VTL's $util would reach the caller as text.
    assert "$util" not in json.dumps(responses)


def test_users_cannot_sign_themselves_up_and_need_strong_passwords(application: assertions.Template) -> None:
    _, pool = _one(application, "AWS::Cognito::UserPool")
    properties = pool["Properties"]

    assert properties["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert properties["Policies"]["PasswordPolicy"]["MinimumLength"] == 14
    assert properties["MfaConfiguration"] == "OPTIONAL"  # dev
    assert properties["DeletionProtection"] == "INACTIVE"  # dev
    assert pool["DeletionPolicy"] == "Retain"


def test_the_resource_server_has_an_invoke_and_an_admin_scope(application: assertions.Template) -> None:
    _, server = _one(application, "AWS::Cognito::UserPoolResourceServer")

    assert server["Properties"]["Identifier"] == "genai"
    # Only a caller with genai/admin may see the agent's trace (lambda/api/identity.py ADMIN_SCOPE).
    assert sorted(scope["ScopeName"] for scope in server["Properties"]["Scopes"]) == ["admin", "invoke"]


def test_people_use_srp_and_machines_client_credentials(application: assertions.Template) -> None:
    clients = {
        logical_id.split("Client")[0].removeprefix("ApiUsers"): c["Properties"]
        for logical_id, c in application.find_resources("AWS::Cognito::UserPoolClient").items()
    }

    assert clients["People"]["ExplicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert clients["People"]["GenerateSecret"] is False
    assert "AllowedOAuthFlows" not in clients["People"]
    assert clients["Machine"]["AllowedOAuthFlows"] == ["client_credentials"]
    assert clients["Machine"]["GenerateSecret"] is True
    assert "/invoke" in json.dumps(clients["Machine"]["AllowedOAuthScopes"])


def test_function_runs_in_the_vpc_on_arm_with_powertools(application: assertions.Template) -> None:
    _, function = _one(application, "AWS::Lambda::Function", "Application/Api/Function/")
    properties = function["Properties"]
    (layer,) = properties["Layers"]

    assert properties["Runtime"] == "python3.14"
    assert properties["Architectures"] == ["arm64"]
    assert properties["Handler"] == "api.handler.handler"
    assert properties["MemorySize"] == 512
    # Opt-in: a reservation fails the deploy in accounts whose concurrency quota is low (new accounts).
    assert "ReservedConcurrentExecutions" not in properties
    assert "VpcConfig" in properties
    assert "017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:36" in json.dumps(layer)
    environment = properties["Environment"]["Variables"]
    # The profile ARNs are attributes (joined in); the ids callers choose are literal. See tests/infra/test_models.py.
    literal = "".join(part for part in environment["MODELS"]["Fn::Join"][1] if isinstance(part, str))
    models = [m["id"] for m in json.loads(literal)]
    assert models[0] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    for name in ("GUARDRAIL_ID", "GUARDRAIL_VERSION", "KNOWLEDGE_BASE_ID", "HARNESS_ARN", "TICKETS_TABLE"):
        assert name in environment
    assert environment["HARNESS_ENDPOINT"] == "live"


def test_the_session_key_reaches_the_function_only_through_its_encrypted_environment(
    application: assertions.Template,
) -> None:
    secret_id, secret = _one(application, "AWS::SecretsManager::Secret")
    _, function = _one(application, "AWS::Lambda::Function", "Application/Api/Function/")
    properties = function["Properties"]

    # CloudFormation resolves the dynamic reference at deploy time: the template never holds the key.
    reference = properties["Environment"]["Variables"]["SESSION_KEY"]["Fn::Join"][1]
    assert reference == ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"]
    assert "KmsKeyArn" in properties
    assert "KmsKeyId" in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32


def test_function_may_call_only_the_allow_list_the_kb_the_harness_the_tickets_and_the_guardrail(
    application: assertions.Template,
) -> None:
    _, policy = _one(application, "AWS::IAM::ManagedPolicy", "Application/Api/Function/")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    harness_id, _ = _one(application, "AWS::BedrockAgentCore::Harness", "Application/Agent/")
    endpoint_id, _ = _one(application, "AWS::BedrockAgentCore::HarnessEndpoint", "Application/Agent/")
    guardrail_id, _ = _one(application, "AWS::Bedrock::Guardrail", "Application/Guardrail/")
    (profiles,) = [s for s in statements if s.get("Sid") == "InvokeTheModelProfiles"]

    assert len(profiles["Resource"]) == 4  # one application inference profile per allow-listed model
    for statement in [s for s in statements if "Condition" in s]:
        assert "bedrock:InferenceProfileArn" in statement["Condition"]["StringEquals"]
    (invoke_harness,) = [s for s in statements if "bedrock-agentcore:InvokeHarness" in s["Action"]]
    # The AgentCore guide: InvokeHarness and InvokeAgentRuntime, on the harness and the endpoint it is called through.
    assert sorted(invoke_harness["Action"]) == [
        "bedrock-agentcore:InvokeAgentRuntime",
        "bedrock-agentcore:InvokeHarness",
    ]
    assert sorted(map(json.dumps, invoke_harness["Resource"])) == sorted(
        json.dumps({"Fn::GetAtt": [resource, "Arn"]}) for resource in (harness_id, endpoint_id)
    )
    tickets = [s for s in statements if str(s["Action"]).startswith("dynamodb:") or "dynamodb:" in str(s["Action"])]
    (query,) = [s for s in tickets if s["Action"] == "dynamodb:Query"]
    assert json.dumps(query["Resource"]).endswith('"/index/owner-status"]]}')
    (apply,) = [s for s in statements if s["Action"] == "bedrock:ApplyGuardrail"]
    assert apply["Resource"] == {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]}
    (retrieve,) = [s for s in statements if s["Action"] == "bedrock:Retrieve"]
    assert "KnowledgeBaseArn" in json.dumps(retrieve["Resource"])
    wildcards = sorted(str(s["Action"]) for s in statements if s["Resource"] == "*")
    assert wildcards == sorted(
        [
            "bedrock:RetrieveAndGenerate",
            "['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', "
            "'ec2:DescribeNetworkInterfaces', 'ec2:UnassignPrivateIpAddresses']",
            "['xray:PutTelemetryRecords', 'xray:PutTraceSegments']",
        ]
    )
    assert not [s for s in statements if "bedrock:*" in str(s["Action"]) or s["Action"] == "bedrock:InvokeModel*"]


def test_no_waf_in_dev(application: assertions.Template) -> None:
    assert not application.find_resources("AWS::WAFv2::WebACL")


def test_prod_puts_waf_with_managed_rules_and_a_rate_rule_in_front(flipped_assembly: Assembly) -> None:
    application = flipped_assembly.assertions("Application")
    _, acl = _one(application, "AWS::WAFv2::WebACL")
    acl_id, _ = _one(application, "AWS::WAFv2::WebACL")
    _, association = _one(application, "AWS::WAFv2::WebACLAssociation")
    _, logging = _one(application, "AWS::WAFv2::LoggingConfiguration")
    rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}

    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert sorted(rules) == [
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "RequestsPerIp",
    ]
    assert rules["RequestsPerIp"]["Statement"]["RateBasedStatement"] == {"Limit": 1000, "AggregateKeyType": "IP"}
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert "aws-waf-logs-" in json.dumps(_one(application, "AWS::Logs::LogGroup", "Application/Api/WafLogs/")[1])
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}


# Every rule of AWSManagedRulesCommonRuleSet that inspects the body (AWS WAF developer guide, baseline rule groups).
COMMON_RULE_SET_BODY_RULES = {
    "SizeRestrictions_BODY",
    "EC2MetaDataSSRF_BODY",
    "GenericLFI_BODY",
    "GenericRFI_BODY",
    "CrossSiteScripting_BODY",
}


def test_prod_waf_lets_long_conversations_and_code_in_prompts_through(flipped_assembly: Assembly) -> None:
    _, acl = _one(flipped_assembly.assertions("Application"), "AWS::WAFv2::WebACL")
    rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    overrides = {o["Name"]: o["ActionToUse"] for o in common["RuleActionOverrides"]}

    # A body over 8 KB (any multi-turn chat) would be a 403 under SizeRestrictions_BODY's block.
    assert overrides == {rule: {"Count": {}} for rule in COMMON_RULE_SET_BODY_RULES}
    # The rest of the group still blocks, and no rule of our own looks at the body's size.
    assert rules["AWSManagedRulesCommonRuleSet"]["OverrideAction"] == {"None": {}}
    assert "SizeConstraintStatement" not in json.dumps(acl["Properties"]["Rules"])


def test_prod_waf_inspects_all_of_a_body_the_api_accepts(flipped_assembly: Assembly) -> None:
    _, acl = _one(flipped_assembly.assertions("Application"), "AWS::WAFv2::WebACL")
    limit = acl["Properties"]["AssociationConfig"]["RequestBody"]["API_GATEWAY"]["DefaultSizeInspectionLimit"]
    _, function = _function(flipped_assembly.assertions("Application"))
    accepted = int(function["Properties"]["Environment"]["Variables"]["MAX_REQUEST_CHARACTERS"])

    # 24,000 characters of ASCII text and their JSON take more than the default 16 KB.
    assert limit == "KB_32"
    assert int(limit.removeprefix("KB_")) * 1024 >= accepted * 1.25


@pytest.mark.parametrize(("characters", "kb"), [(1_000, 16), (13_107, 16), (13_108, 32), (24_000, 32), (10**6, 64)])
def test_body_inspection_grows_with_the_accepted_size_up_to_waf_limit(characters: int, kb: int) -> None:
    assert body_inspection_kb(characters) == kb


def test_a_configured_reservation_reaches_both_functions(flipped_assembly: Assembly) -> None:
    application = flipped_assembly.assertions("Application")
    for name in ("Function", "StreamFunction"):
        assert _function(application, name)[1]["Properties"]["ReservedConcurrentExecutions"] == 5


def test_prod_requires_mfa_and_protects_the_user_pool(flipped_assembly: Assembly) -> None:
    _, pool = _one(flipped_assembly.assertions("Application"), "AWS::Cognito::UserPool")

    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


def test_outputs_give_a_client_everything_it_needs(assembly: Assembly) -> None:
    outputs = assembly.template("Application")["Outputs"]

    assert set(outputs) >= {"ApiUrl", "UserPoolId", "PeopleClientId", "MachineClientId", "TokenUrl"}
    assert "/oauth2/token" in json.dumps(outputs["TokenUrl"]["Value"])


def test_sign_in_errors_do_not_tell_whether_a_user_exists(application: assertions.Template) -> None:
    clients = application.find_resources("AWS::Cognito::UserPoolClient")
    people = [c["Properties"] for c in clients.values() if "ALLOW_USER_SRP_AUTH" in str(c["Properties"])]

    assert len(people) == 1
    assert people[0]["PreventUserExistenceErrors"] == "ENABLED"


def test_prod_waf_blocks_by_ip_rate_and_lets_the_managed_groups_block(flipped_assembly: Assembly) -> None:
    _, acl = _one(flipped_assembly.assertions("Application"), "AWS::WAFv2::WebACL")
    rules = {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}
    managed = [rule for rule in rules.values() if "ManagedRuleGroupStatement" in rule["Statement"]]

    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    assert rules["RequestsPerIp"]["Action"] == {"Block": {}}
    assert len(managed) == 3
    for rule in managed:
        # "None": each rule of the group takes its own action (block), bar the body rules counted by name.
        assert rule["OverrideAction"] == {"None": {}}, rule["Name"]
        overrides = rule["Statement"]["ManagedRuleGroupStatement"].get("RuleActionOverrides", [])
        assert all(o["ActionToUse"] == {"Count": {}} for o in overrides), rule["Name"]
        assert {o["Name"] for o in overrides} <= COMMON_RULE_SET_BODY_RULES


def test_every_queue_of_the_api_and_the_agent_is_encrypted_with_the_project_key(
    application: assertions.Template,
) -> None:
    queues = application.find_resources("AWS::SQS::Queue")

    assert len(queues) >= 4  # a dead-letter queue per function
    for logical_id, queue in queues.items():
        key = json.dumps(queue["Properties"]["KmsMasterKeyId"])
        assert "EncryptionKey" in key, logical_id

"""The REST API: Cognito on every route but health, validation, throttling, logs, tracing, WAF, scoped IAM."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import assertions

from stacks.config import ROOT
from tests.synth import Assembly, resources_at

SCHEMAS = json.loads((ROOT / "lambda/api/schemas.json").read_text())
ROUTES = {("GET", "health"), ("GET", "models"), *(("POST", route) for route in SCHEMAS)}


def _one(template: assertions.Template, type_: str, path: str = "Application/Api/") -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = resources_at(template, type_, path).items()
    return logical_id, dict(resource)


def _methods(template: assertions.Template) -> dict[tuple[str, str], dict[str, Any]]:
    resources = template.find_resources("AWS::ApiGateway::Resource")
    paths = {logical_id: r["Properties"]["PathPart"] for logical_id, r in resources.items()}
    return {
        (m["Properties"]["HttpMethod"], paths[m["Properties"]["ResourceId"]["Ref"]]): m["Properties"]
        for m in template.find_resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    }


def test_every_route_but_health_needs_a_cognito_token(application: assertions.Template) -> None:
    methods = _methods(application)
    authorizer_id, authorizer = _one(application, "AWS::ApiGateway::Authorizer")
    pool_id, _ = _one(application, "AWS::Cognito::UserPool")

    assert set(methods) == ROUTES
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool_id, "Arn"]}]
    for route, method in methods.items():
        if route == ("GET", "health"):
            assert method["AuthorizationType"] == "NONE"
            continue
        assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
        assert method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["AuthorizationScopes"] == ["genai/invoke", "aws.cognito.signin.user.admin"]


def test_every_post_body_is_validated_against_its_schema(application: assertions.Template) -> None:
    methods = _methods(application)
    _, validator = _one(application, "AWS::ApiGateway::RequestValidator")
    models = {
        logical_id: m["Properties"]["Schema"]
        for logical_id, m in application.find_resources("AWS::ApiGateway::Model").items()
    }

    assert validator["Properties"]["ValidateRequestBody"] is True
    for route, schema in SCHEMAS.items():
        method = methods[("POST", route)]
        model_id = method["RequestModels"]["application/json"]["Ref"]
        assert models[model_id] == {"$schema": "http://json-schema.org/draft-04/schema#", **schema}
        assert "RequestValidatorId" in method
        assert schema["additionalProperties"] is False


def test_one_proxy_integration_within_the_gateway_timeout(application: assertions.Template) -> None:
    function_id, function = _one(application, "AWS::Lambda::Function", "Application/Api/Function/")
    for method in _methods(application).values():
        integration = method["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["TimeoutInMillis"] == 29000
        assert function_id in json.dumps(integration["Uri"])
    assert function["Properties"]["Timeout"] == 28


def test_only_this_api_may_invoke_the_function(application: assertions.Template) -> None:
    _, permission = _one(application, "AWS::Lambda::Permission", "Application/Api/")
    rest_api_id, _ = _one(application, "AWS::ApiGateway::RestApi")

    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    assert permission["Properties"]["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert {"Ref": rest_api_id} in permission["Properties"]["SourceArn"]["Fn::Join"][1]


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
    assert json.loads(properties["AccessLogSetting"]["Format"])["requestId"] == "$context.requestId"
    assert set(access_logs["Properties"]) == {"KmsKeyId", "RetentionInDays"}


def test_gateway_errors_use_the_api_error_shape(application: assertions.Template) -> None:
    responses = application.find_resources("AWS::ApiGateway::GatewayResponse")

    assert sorted(r["Properties"]["ResponseType"] for r in responses.values()) == ["DEFAULT_4XX", "DEFAULT_5XX"]
    for response in responses.values():
        assert '{"error": {"code":' in response["Properties"]["ResponseTemplates"]["application/json"]


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
    models = [m["id"] for m in json.loads(environment["MODELS"])]
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
    (profiles,) = [s for s in statements if "bedrock:GetInferenceProfile" in s["Action"]]

    assert len(profiles["Resource"]) == 4  # one inference profile per allow-listed model
    for statement in [s for s in statements if "Condition" in s]:
        assert "bedrock:InferenceProfileArn" in statement["Condition"]["StringLike"]
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


def test_a_configured_reservation_reaches_the_function(flipped_assembly: Assembly) -> None:
    _, function = _one(flipped_assembly.assertions("Application"), "AWS::Lambda::Function", "Application/Api/Function/")

    assert function["Properties"]["ReservedConcurrentExecutions"] == 5


def test_prod_requires_mfa_and_protects_the_user_pool(flipped_assembly: Assembly) -> None:
    _, pool = _one(flipped_assembly.assertions("Application"), "AWS::Cognito::UserPool")

    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["DeletionProtection"] == "ACTIVE"


def test_outputs_give_a_client_everything_it_needs(assembly: Assembly) -> None:
    outputs = assembly.template("Application")["Outputs"]

    assert set(outputs) >= {"ApiUrl", "UserPoolId", "PeopleClientId", "MachineClientId", "TokenUrl"}
    assert "/oauth2/token" in json.dumps(outputs["TokenUrl"]["Value"])

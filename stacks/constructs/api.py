"""The REST API in front of the models, the knowledge base and the agent: Cognito, validation, throttling, WAF."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.config import ApiConfig
from stacks.constructs.agent import Agent
from stacks.constructs.common import Baseline, acknowledge
from stacks.constructs.function import VpcFunction
from stacks.constructs.guardrail import Guardrail
from stacks.constructs.knowledge_base import KnowledgeBase
from stacks.constructs.models import ModelProfiles
from stacks.constructs.packaging import LAMBDA_ROOT
from stacks.constructs.roles import ManagedPolicyRole
from stacks.constructs.tickets import Tickets

ROUTES = LAMBDA_ROOT / "api" / "routes.json"
REQUIREMENTS = LAMBDA_ROOT / "api" / "requirements.txt"
# The Lambda Web Adapter (AWS, awslabs/aws-lambda-web-adapter) v1.1.0 for arm64: the same layer version in each
# region this stack runs in (the AgentCore regions, stacks/regions.py); a region missing here fails the deploy.
WEB_ADAPTER_ACCOUNT = "753240598075"
WEB_ADAPTER_LAYERS = dict.fromkeys(
    (
        "us-east-1", "us-east-2", "us-west-2", "ca-central-1", "sa-east-1", "eu-central-1", "eu-west-1",
        "eu-west-2", "eu-west-3", "eu-north-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
        "ap-northeast-1", "ap-northeast-2",
    ),
    30,
)  # fmt: skip
INVOKE_SCOPE = "invoke"
# Callers with this scope may ask for the agent's trace (the tools it called); nothing else depends on it.
ADMIN_SCOPE = "admin"
# People sign in with SRP and get access tokens scoped aws.cognito.signin.user.admin; machines get genai/invoke.
PEOPLE_SCOPE = "aws.cognito.signin.user.admin"
# The common rule set's rules on the request body: a conversation is larger than its 8 KB size limit, and
# prompts that quote code or paths look like cross-site scripting or file inclusion. They count (and are
# logged) instead of blocking; the rules on URI, query string, headers and cookies still block.
COUNTED_BODY_RULES = (
    "SizeRestrictions_BODY",
    "CrossSiteScripting_BODY",
    "GenericLFI_BODY",
    "GenericRFI_BODY",
    "EC2MetaDataSSRF_BODY",
)
# WAF inspects the first 16 KB of a body unless told more (up to 64 KB, each further 16 KB billed per request).
BODY_INSPECTION_STEP_KB = 16
BODY_INSPECTION_MAX_KB = 64
# Bytes of JSON per character of text the API accepts: field names, quotes and escapes around ASCII text.
JSON_BYTES_PER_CHARACTER = 1.25


def body_inspection_kb(max_request_characters: int) -> int:
    """The smallest body size WAF can inspect that holds a request the API accepts (ASCII text), at most 64 KB."""
    needed = max_request_characters * JSON_BYTES_PER_CHARACTER / 1024
    steps = -(-needed // BODY_INSPECTION_STEP_KB)
    return int(min(BODY_INSPECTION_MAX_KB, max(1, steps) * BODY_INSPECTION_STEP_KB))


ERROR_TEMPLATE = (
    '{"error": {"code": "$context.error.responseType", "message": $context.error.messageString, '
    '"requestId": "$context.requestId"}}'
)
# The body failed the route's schema: say which field, in the same envelope. Gateway response templates are
# simple substitution, not VTL ($util is not available): the validation string goes in as API Gateway gives it.
BAD_BODY_TEMPLATE = (
    '{"error": {"code": "BadRequest", "message": "$context.error.validationErrorString", '
    '"requestId": "$context.requestId"}}'
)
# Who called, what for, how it went: one JSON line per request (the caller from the verified token's claims).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.authorizer.claims.sub",
    "client": "$context.authorizer.claims.client_id",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integration.latency",
    "transferMode": "$context.integration.responseTransferMode",
    "error": "$context.error.responseType",
}


class Api(Construct):
    """A regional REST API over one Lambda function; every route but GET /health needs a Cognito token."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: ApiConfig,
        guardrail: Guardrail,
        agent: Agent,
        knowledge_base: KnowledgeBase,
        tickets: Tickets,
        baseline: Baseline,
    ) -> None:
        super().__init__(scope, id_)
        key, log_retention, removal_policy = baseline.key, baseline.log_retention, baseline.removal_policy
        self._users(config, removal_policy)
        self.session_key = self._session_key(key)

        self.usage = self._usage_table(key)
        self.models = ModelProfiles(
            self, "Models", models=[m.model for m in config.models], inference_profile=config.inference_profile
        )
        environment = self._environment(config, guardrail, agent, knowledge_base, tickets)
        self.function = VpcFunction(
            self,
            "Function",
            package="api",
            description="The API's buffered routes: chat, compare, retrieve, ask, agent, models and health",
            baseline=baseline,
            # Below API Gateway's 29-second integration limit, so a slow model answers 504, not a gateway error.
            timeout=cdk.Duration.seconds(28),
            wildcard_note="bedrock:RetrieveAndGenerate has no resource-level permission either",
            memory_size=config.memory_mb,
            reserved_concurrency=config.reserved_concurrency,
            concurrency_bound="Stage throttling bounds its requests; api.reserved_concurrency reserves concurrency.",
            requirements=REQUIREMENTS,
            environment={**environment, "POWERTOOLS_SERVICE_NAME": "genai-api"},
        )
        # The same package, run by the Lambda Web Adapter as an ASGI app that streams server-sent events.
        self.stream_function = VpcFunction(
            self,
            "StreamFunction",
            package="api",
            handler="api/run.sh",
            description="The API's streaming routes: chat, ask and agent as server-sent events",
            baseline=baseline,
            timeout=cdk.Duration.seconds(config.stream_timeout_seconds),
            wildcard_note="bedrock:RetrieveAndGenerate has no resource-level permission either",
            memory_size=config.memory_mb,
            reserved_concurrency=config.reserved_concurrency,
            concurrency_bound="Stage throttling bounds its requests; api.reserved_concurrency reserves concurrency.",
            requirements=REQUIREMENTS,
            layers=[self._web_adapter()],
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": "genai-api-stream",
                "STREAM_TIMEOUT_SECONDS": str(config.stream_timeout_seconds),
                "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
                "AWS_LWA_INVOKE_MODE": "response_stream",
                "AWS_LWA_PORT": "8080",
                "AWS_LWA_READINESS_CHECK_PATH": "/ready",
            },
        )
        for function in (self.function, self.stream_function):
            self._grant(function.role, guardrail, agent, knowledge_base, tickets)

        self.access_logs = logs.LogGroup(
            self, "AccessLogs", encryption_key=key, retention=log_retention, removal_policy=removal_policy
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            # API Gateway's metrics know an API by its name: two deployments in one Region must not share one.
            rest_api_name=cdk.Stack.of(self).stack_name,
            description="Chat, compare, retrieval, RAG and the agent over Amazon Bedrock",
            endpoint_configuration=apigw.EndpointConfiguration(types=[apigw.EndpointType.REGIONAL]),
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=cdk.RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name="prod",
                throttling_rate_limit=config.throttle_rate,
                throttling_burst_limit=config.throttle_burst,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
            default_cors_preflight_options=(
                apigw.CorsOptions(
                    allow_origins=list(config.cors_origins),
                    allow_methods=["GET", "POST", "OPTIONS"],
                    allow_headers=["Authorization", "Content-Type"],
                )
                if config.cors_origins
                else None
            ),
        )
        # API Gateway writes execution logs to this group by name: created here, it is encrypted and expires.
        logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=cdk.Fn.join("", ["API-Gateway-Execution-Logs_", self.rest_api.rest_api_id, "/prod"]),
            encryption_key=key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            self.rest_api.add_gateway_response(
                response_type.response_type, type=response_type, templates={"application/json": ERROR_TEMPLATE}
            )
        self.rest_api.add_gateway_response(
            "BAD_REQUEST_BODY",
            type=apigw.ResponseType.BAD_REQUEST_BODY,
            templates={"application/json": BAD_BODY_TEMPLATE},
        )
        self._routes(config)
        self._acknowledge_stage(config)
        if config.waf:
            self.web_acl = self._web_acl(config, key, log_retention, removal_policy)

    def _users(self, config: ApiConfig, removal_policy: cdk.RemovalPolicy) -> None:
        mfa = {"off": cognito.Mfa.OFF, "optional": cognito.Mfa.OPTIONAL, "required": cognito.Mfa.REQUIRED}
        self.user_pool = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            mfa=mfa[config.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False) if config.mfa != "off" else None,
            deletion_protection=config.deletion_protection,
            removal_policy=removal_policy,
        )
        invoke = cognito.ResourceServerScope(scope_name=INVOKE_SCOPE, scope_description="Call every API route")
        admin = cognito.ResourceServerScope(scope_name=ADMIN_SCOPE, scope_description="See the agent's trace")
        self.scope_server = self.user_pool.add_resource_server(
            "ResourceServer", identifier="genai", scopes=[invoke, admin]
        )
        if config.mfa != "required":
            acknowledge(
                self.user_pool,
                "AwsSolutions-COG2",
                f"MFA is {config.mfa} in this profile (genai.api.mfa) so a first deploy can be tried without an "
                "authenticator app; the prod profile requires it. Machines use client credentials, not passwords.",
            )
        acknowledge(
            self.user_pool,
            "AwsSolutions-COG8",
            "Threat protection needs the Plus feature plan, billed per monthly active user; the Essentials plan, "
            "MFA, a 14-character password policy and no self sign-up are the defaults, and forks can opt in.",
        )
        stack = cdk.Stack.of(self)
        # Cognito domain prefixes are global per region: the account id makes this one unique.
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(
                domain_prefix=cdk.Fn.join("-", [stack.stack_name.lower(), stack.account])
            ),
        )
        self.people_client = self.user_pool.add_client(
            "PeopleClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            disable_o_auth=True,
            generate_secret=False,
            prevent_user_existence_errors=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(30),
        )
        self.machine_client = self.user_pool.add_client(
            "MachineClient",
            generate_secret=True,
            auth_flows=cognito.AuthFlow(),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(client_credentials=True),
                # A token request names the scopes it wants; one that names none gets both.
                scopes=[
                    cognito.OAuthScope.resource_server(self.scope_server, invoke),
                    cognito.OAuthScope.resource_server(self.scope_server, admin),
                ],
            ),
            access_token_validity=cdk.Duration.hours(1),
        )
        self.token_url = f"{self.domain.base_url()}/oauth2/token"

    def _session_key(self, key: kms.IKey) -> secretsmanager.Secret:
        """The key the function signs session ids with, so that no caller can continue another's conversation."""
        secret = secretsmanager.Secret(
            self,
            "SessionKey",
            description="Signs the API's session ids; replacing it ends every open conversation",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
        )
        for finding in (
            "AwsSolutions-SMG4",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
            "HIPAA.Security-SecretsManagerRotationEnabled",
        ):
            acknowledge(
                secret,
                finding,
                "The secret is an HMAC key for session ids, read by CloudFormation into the function's encrypted "
                "environment at deploy; rotating it on a schedule would end every open conversation, so it is "
                "rotated by replacing the secret in a deploy (see README, Operations).",
            )
        return secret

    def _environment(
        self, config: ApiConfig, guardrail: Guardrail, agent: Agent, knowledge_base: KnowledgeBase, tickets: Tickets
    ) -> dict[str, str]:
        """What both functions read (api/config.py)."""
        return {
            # Callers choose a model by its id; the function calls it through its application inference profile.
            "MODELS": cdk.Stack.of(self).to_json_string(
                [{"id": m.id, "name": m.name, "arn": self.models.arn(m.model)} for m in config.models]
            ),
            "GENERATION_MODEL_ARN": self.models.arn(config.generation_model),
            "GUARDRAIL_ID": guardrail.guardrail_id,
            "GUARDRAIL_VERSION": guardrail.guardrail_version,
            "BLOCKED_OUTPUT_MESSAGE": guardrail.blocked_output_message,
            "KNOWLEDGE_BASE_ID": knowledge_base.knowledge_base_id,
            "HARNESS_ARN": agent.harness_arn,
            "HARNESS_ENDPOINT": agent.endpoint_name,
            "TICKETS_TABLE": tickets.table.table_name,
            "USAGE_TABLE": self.usage.table_name,
            # Resolved by CloudFormation at deploy time; the function's environment is encrypted with the key.
            "SESSION_KEY": self.session_key.secret_value.unsafe_unwrap(),
            "SYSTEM_PROMPT": config.system_prompt,
            "MAX_TOKENS": str(config.max_tokens),
            "MAX_TOKENS_CEILING": str(config.max_tokens_ceiling),
            "MAX_REQUEST_CHARACTERS": str(config.max_request_characters),
            "CALLER_CALLS_PER_MINUTE": str(config.caller_calls_per_minute),
            "CORS_ORIGINS": ",".join(config.cors_origins),
            "POWERTOOLS_METRICS_NAMESPACE": cdk.Stack.of(self).stack_name,
        }

    def _usage_table(self, key: kms.IKey) -> dynamodb.Table:
        """Each caller's model calls per minute (api/limits.py): counters that expire two minutes later."""
        table = dynamodb.Table(
            self,
            "Usage",
            partition_key=dynamodb.Attribute(name="caller_window", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute="expires",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        counters = (
            "The table holds per-minute request counters that expire two minutes after they are written; there "
            "is nothing to recover or back up, and losing them only resets the callers' budgets."
        )
        acknowledge(table, "AwsSolutions-DDB3", counters)
        for pack in ("NIST.800.53.R5", "HIPAA.Security"):
            acknowledge(table, f"{pack}-DynamoDBPITREnabled", counters)
            acknowledge(table, f"{pack}-DynamoDBInBackupPlan", counters)
        return table

    def _web_adapter(self) -> lambda_.ILayerVersion:
        """The Lambda Web Adapter layer of the deploy region, from the table above."""
        stack = cdk.Stack.of(self)
        mapping = cdk.CfnMapping(
            self,
            "WebAdapterLayers",
            mapping={
                region: {
                    # Literal: mapping values cannot hold intrinsics. The layer is published in the aws partition.
                    "arn": f"arn:aws:lambda:{region}:{WEB_ADAPTER_ACCOUNT}:layer:LambdaAdapterLayerArm64:{version}"
                }
                for region, version in WEB_ADAPTER_LAYERS.items()
            },
        )
        return lambda_.LayerVersion.from_layer_version_arn(self, "WebAdapter", mapping.find_in_map(stack.region, "arn"))

    def _grant(
        self,
        role: ManagedPolicyRole,
        guardrail: Guardrail,
        agent: Agent,
        knowledge_base: KnowledgeBase,
        tickets: Tickets,
    ) -> None:
        self.models.grant_invoke(role)
        guardrail.grant_apply(role)
        agent.grant_invoke(role)
        knowledge_base.grant_retrieve(role)
        tickets.grant_owned_access(role)
        self.usage.grant(role, "dynamodb:UpdateItem")
        role.add_to_principal_policy(
            iam.PolicyStatement(sid="RetrieveAndGenerate", actions=["bedrock:RetrieveAndGenerate"], resources=["*"])
        )

    def _routes(self, config: ApiConfig) -> None:
        """A method per route of routes.json, and a streaming method (`<path>/stream`) for each route that streams."""
        stack = cdk.Stack.of(self)
        registry: dict[str, Any] = json.loads(ROUTES.read_text())
        # Raw proxy integrations: LambdaIntegration would add a Lambda permission per method; one per function
        # for the whole API (below) keeps the function policies short.
        buffered = apigw.Integration(
            type=apigw.IntegrationType.AWS_PROXY,
            integration_http_method="POST",
            uri=(
                f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2015-03-31/functions/"
                f"{self.function.function.function_arn}/invocations"
            ),
            options=apigw.IntegrationOptions(timeout=cdk.Duration.seconds(29)),
        )
        # Streaming calls the function's response-streaming API and passes each chunk on as it arrives.
        streaming = apigw.Integration(
            type=apigw.IntegrationType.AWS_PROXY,
            integration_http_method="POST",
            uri=(
                f"arn:{stack.partition}:apigateway:{stack.region}:lambda:path/2021-11-15/functions/"
                f"{self.stream_function.function.function_arn}/response-streaming-invocations"
            ),
            options=apigw.IntegrationOptions(
                timeout=cdk.Duration.seconds(config.stream_timeout_seconds),
                response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            ),
        )
        self._authorizer = apigw.CognitoUserPoolsAuthorizer(self, "Authorizer", cognito_user_pools=[self.user_pool])
        self._validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        for route in registry["routes"]:
            model = self._request_model(route, registry["schemas"])
            resource = self.rest_api.root.resource_for_path(route["path"])
            method = self._method(resource, route, buffered, model)
            if route.get("stream"):
                self._method(resource.add_resource("stream"), route, streaming, model)
            if route.get("public"):
                for finding in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
                    acknowledge(
                        method,
                        finding,
                        f"{route['method']} {route['path']} is public by design ({route['summary']}): it calls no "
                        "model and returns no data; stage throttling (and WAF in prod) still apply.",
                    )
        # One permission per function for the whole API (every stage, method and path), naming its account too.
        for function, id_ in ((self.function, "InvokedByTheApi"), (self.stream_function, "StreamedByTheApi")):
            function.function.add_permission(
                id_,
                principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
                action="lambda:InvokeFunction",
                source_arn=self.rest_api.arn_for_execute_api(),
                source_account=stack.account,
            )

    def _request_model(self, route: dict[str, Any], schemas: dict[str, Any]) -> apigw.CfnModel | None:
        """The validation model of a route's body (routes.json's request schema, draft-04)."""
        if not route.get("request"):
            return None
        return apigw.CfnModel(
            self,
            f"{route['name'].capitalize()}Request",
            rest_api_id=self.rest_api.rest_api_id,
            content_type="application/json",
            description=f"Body of {route['method']} {route['path']}",
            schema={"$schema": "http://json-schema.org/draft-04/schema#", **schemas[route["request"]]},
        )

    def _method(
        self,
        resource: apigw.IResource,
        route: dict[str, Any],
        integration: apigw.Integration,
        model: apigw.CfnModel | None,
    ) -> apigw.Method:
        """A route's method: Cognito (unless public), body validation (when it takes one)."""
        public = bool(route.get("public"))
        method = resource.add_method(
            route["method"],
            integration,
            authorizer=None if public else self._authorizer,
            authorization_type=apigw.AuthorizationType.NONE if public else apigw.AuthorizationType.COGNITO,
            authorization_scopes=None if public else [f"genai/{INVOKE_SCOPE}", PEOPLE_SCOPE],
            request_validator=self._validator if model is not None else None,
            request_models=(
                # Every content type: a body sent as text/plain is validated too, not passed on unchecked.
                {"$default": apigw.Model.from_model_name(self, f"{resource.path}Model", model.ref)}
                if model is not None
                else None
            ),
        )
        if model is not None:
            method.node.add_dependency(model)
        return method

    def _acknowledge_stage(self, config: ApiConfig) -> None:
        stage = self.rest_api.deployment_stage
        no_cache = (
            "Responses are generated per user and per request by models: a cache would serve one user's answer to "
            "another and bills by the hour, so the stage has no cache to encrypt."
        )
        for pack in ("NIST.800.53.R5", "HIPAA.Security"):
            acknowledge(stage, f"{pack}-APIGWCacheEnabledAndEncrypted", no_cache)
            acknowledge(
                stage,
                f"{pack}-APIGWSSLEnabled",
                "The only backend is a Lambda proxy integration, which API Gateway calls through the Lambda API "
                "with IAM; a client certificate authenticates HTTP backends only.",
            )
        if not config.waf:
            for finding in ("AwsSolutions-APIG3", "NIST.800.53.R5-APIGWAssociatedWithWAF"):
                acknowledge(
                    stage,
                    finding,
                    "WAF is off in this profile (genai.api.waf=false) to save its fixed monthly cost; the prod "
                    "profile turns it on, and Cognito, throttling and request validation still guard every route.",
                )
        acknowledge(
            self.rest_api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role (needed for execution logs); this AWS managed policy is the "
            "one API Gateway documents for it and grants CloudWatch Logs writes only.",
        )

    def _web_acl(
        self,
        config: ApiConfig,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> wafv2.CfnWebACL:
        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        def managed(priority: int, name: str, count: tuple[str, ...] = ()) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=name,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                            for rule in count
                        ]
                        or None,
                    )
                ),
                visibility_config=visibility(name),
            )

        web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("GenAiApi"),
            # The rules that still block on the body (known bad inputs) see all of a request the API accepts.
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    "API_GATEWAY": wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit=f"KB_{body_inspection_kb(config.max_request_characters)}"
                    )
                }
            ),
            rules=[
                managed(0, "AWSManagedRulesAmazonIpReputationList"),
                managed(1, "AWSManagedRulesCommonRuleSet", COUNTED_BODY_RULES),
                managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
                wafv2.CfnWebACL.RuleProperty(
                    name="RequestsPerIp",
                    priority=3,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=config.waf_rate_limit, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=visibility("RequestsPerIp"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=web_acl.attr_arn,
        )
        # WAF delivers its logs only to log groups whose names start with aws-waf-logs-.
        waf_logs = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=cdk.Fn.join("", ["aws-waf-logs-", cdk.Stack.of(self).stack_name, "-", web_acl.attr_id]),
            encryption_key=key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=web_acl.attr_arn,
            log_destination_configs=[waf_logs.log_group_arn],
        )
        return web_acl

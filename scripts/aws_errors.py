"""How the scripts word an AWS error: one line, saying what to configure when credentials or a region are missing."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError


def describe_aws_error(error: ClientError | BotoCoreError) -> str:
    """`<Operation> failed: <Code>: <message>`, or what to configure when no credentials or region were found."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        message = one_line(details.get("Message", "")) or "no message"
        return f"{error.operation_name} failed: {details.get('Code', 'Unknown')}: {message}"
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found: configure them for the stack's account (AWS_PROFILE, aws sso login...)"
    if isinstance(error, NoRegionError):
        return "no AWS region configured: pass --region, or set AWS_REGION or a profile's region"
    return one_line(str(error))


def error_code(error: ClientError) -> str:
    """The error code of an AWS answer (`ValidationError`, `ResourceNotFoundException`...), or an empty string."""
    return str(error.response.get("Error", {}).get("Code", ""))


def one_line(text: str) -> str:
    return " ".join(text.split())

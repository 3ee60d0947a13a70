"""scripts/aws_errors.py: how every script words an AWS error, and reads its code."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from scripts.aws_errors import describe_aws_error, error_code


def client_error(error: dict[str, str]) -> ClientError:
    return ClientError({"Error": error}, "DescribeStacks")


def test_a_client_error_is_its_operation_code_and_message_on_one_line() -> None:
    error = client_error({"Code": "ValidationError", "Message": "Stack with id X\ndoes not exist"})

    assert describe_aws_error(error) == "DescribeStacks failed: ValidationError: Stack with id X does not exist"
    assert error_code(error) == "ValidationError"


def test_an_error_without_code_or_message_says_so() -> None:
    error = client_error({})

    assert describe_aws_error(error) == "DescribeStacks failed: Unknown: no message"
    assert error_code(error) == ""


@pytest.mark.parametrize(
    ("error", "start"),
    [
        pytest.param(NoCredentialsError(), "no AWS credentials found: configure them", id="credentials"),
        pytest.param(NoRegionError(), "no AWS region configured: pass --region", id="region"),
        pytest.param(
            EndpointConnectionError(endpoint_url="https://cloudformation.xx-test-1.amazonaws.com"),
            'Could not connect to the endpoint URL: "https://cloudformation.xx-test-1.amazonaws.com"',
            id="other",
        ),
    ],
)
def test_what_to_configure_when_the_sdk_cannot_call(error: Exception, start: str) -> None:
    assert describe_aws_error(error).startswith(start)

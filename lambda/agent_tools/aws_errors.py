"""Read the code and message of an AWS error."""

from botocore.exceptions import ClientError


def error_code(error: ClientError) -> str:
    """The AWS error code of a ClientError."""
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    """The AWS error message of a ClientError."""
    return str(error.response.get("Error", {}).get("Message", ""))

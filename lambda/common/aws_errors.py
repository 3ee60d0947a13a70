"""Read the code and message of an AWS error, the same way in every function."""

from botocore.exceptions import ClientError


def error_code(error: ClientError) -> str:
    """The error code; an event stream names it after its event (`throttlingException`), so it is capitalized."""
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code[:1].upper() + code[1:]


def error_message(error: ClientError) -> str:
    """The error message AWS sent, for the logs only: it may name resources and accounts."""
    return str(error.response.get("Error", {}).get("Message", ""))


def describe(error: BaseException) -> str:
    """`Code: message` of a ClientError, or the exception's type and text, on one line for a log record."""
    if isinstance(error, ClientError):
        return " ".join(f"{error_code(error)}: {error_message(error)}".split())
    return " ".join(f"{type(error).__name__}: {error}".split())

"""Session ids the API issues and binds to their caller, so that no caller can continue another's conversation.

A session id is `<value>-<tag>`: the value names the conversation (a random id for the agent, Bedrock's own id
for /ask) and the tag is an HMAC of the purpose, the caller and the value under a key only the API holds. A
session id of another caller, or one the API never issued, fails the check: a 403, and nothing is called.
"""

import hashlib
import hmac
import secrets

from api.errors import ApiError
from api.identity import Caller

TAG_LENGTH = 32  # hex characters: a 128-bit tag
# A key of fewer than 32 bytes would make the tags guessable faster than the ids are random.
MIN_KEY_BYTES = 32
AGENT = "agent"
ASK = "ask"


def foreign_session() -> ApiError:
    return ApiError(
        403,
        "SessionNotYours",
        "This sessionId was not issued to you by this API; omit it to start a new conversation.",
    )


class SessionBinder:
    """Issues and checks caller-bound session ids with one secret key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the session key must have at least {MIN_KEY_BYTES} bytes")
        self._key = key

    def tag(self, purpose: str, caller: Caller, value: str) -> str:
        """The HMAC of `value` for this purpose and caller."""
        message = "\0".join((purpose, caller.id, value)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:TAG_LENGTH]

    def bind(self, purpose: str, caller: Caller, value: str) -> str:
        """The session id the caller sees for `value`."""
        return f"{value}-{self.tag(purpose, caller, value)}"

    def new(self, purpose: str, caller: Caller) -> str:
        """A new session id for the caller: 64 characters, as AgentCore wants at least 33."""
        return self.bind(purpose, caller, secrets.token_hex(16))

    def value(self, purpose: str, caller: Caller, session_id: str) -> str:
        """The value behind a session id the API issued to this caller for this purpose; a 403 for any other."""
        value, _, tag = session_id.rpartition("-")
        # Compared as bytes: compare_digest refuses str with non-ASCII characters.
        if not value or not hmac.compare_digest(tag.encode(), self.tag(purpose, caller, value).encode()):
            raise foreign_session()
        return value

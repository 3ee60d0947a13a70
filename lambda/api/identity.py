"""Who is calling: read from the claims API Gateway's Cognito authorizer verified, never from the request body."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError

# The resource server's scopes (stacks/constructs/api.py): every route needs invoke, the agent trace needs admin.
ADMIN_SCOPE = "genai/admin"
# Cognito subs are UUIDs and app client ids are alphanumeric; anything else is not a verified Cognito claim.
CLAIM_VALUE = re.compile(r"[A-Za-z0-9-]{1,128}")


@dataclass(frozen=True)
class Caller:
    """A verified caller: a person (a user pool user) or a machine (an app client with client credentials)."""

    kind: str  # "user" or "client"
    subject: str  # the user's sub, or the app client's id
    scopes: frozenset[str]

    @property
    def id(self) -> str:
        """The caller's stable id: the AgentCore actor, the owner of their tickets, the key of their sessions."""
        return f"{self.kind}-{self.subject}"

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes


def unauthenticated() -> ApiError:
    return ApiError(401, "Unauthorized", "The request carries no verified identity; send a Cognito access token.")


def caller_of(event: Mapping[str, Any]) -> Caller:
    """The caller of a proxy event; a 401 when the authorizer left no usable claims (a route without one)."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    if not isinstance(claims, Mapping):
        raise unauthenticated()
    sub, client_id = claims.get("sub"), claims.get("client_id")
    if not isinstance(sub, str) or not CLAIM_VALUE.fullmatch(sub):
        raise unauthenticated()
    scope = claims.get("scope")
    scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
    # A client-credentials access token's sub is the app client itself; a person's token has a sub of its own.
    kind = "client" if sub == client_id else "user"
    return Caller(kind=kind, subject=sub, scopes=scopes)

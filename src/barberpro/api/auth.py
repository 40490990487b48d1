"""Bearer tokens: ingestion takes the ingest or the admin token, reading takes the admin token."""

from __future__ import annotations

import hmac
from enum import StrEnum

from fastapi import Request
from pydantic import SecretStr

from barberpro.api.errors import ApiError


class Role(StrEnum):
    """What a token may do."""

    INGEST = "ingest"
    ADMIN = "admin"


class TokenAuth:
    """Checks the ``Authorization: Bearer`` header; open when no token is configured."""

    #: Read by barberpro.api.openapi: routes depending on this guard declare the bearer token.
    checks_bearer_token = True

    def __init__(self, *, admin: SecretStr | None, ingest: SecretStr | None) -> None:
        self._admin = admin.get_secret_value().encode() if admin else None
        self._ingest = ingest.get_secret_value().encode() if ingest else None

    @property
    def open(self) -> bool:
        """True when no token is configured (development)."""
        return self._admin is None and self._ingest is None

    def role_of(self, request: Request) -> Role | None:
        """Return the role the request's token grants, None when it carries no known token."""
        if self.open:
            return Role.ADMIN
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        given = token.strip().encode()
        # compare_digest on both, always, so the answer time does not tell which one matched.
        is_admin = self._admin is not None and hmac.compare_digest(given, self._admin)
        is_ingest = self._ingest is not None and hmac.compare_digest(given, self._ingest)
        if is_admin:
            return Role.ADMIN
        return Role.INGEST if is_ingest else None

    def require(self, request: Request, *roles: Role) -> Role:
        """Return the caller's role; 401 without a valid token, 403 when it is the wrong kind."""
        role = self.role_of(request)
        if role is None:
            raise ApiError(
                401,
                "unauthorized",
                "send a valid token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if role not in roles:
            raise ApiError(403, "forbidden", f"this route needs the {roles[-1].value} token")
        return role

    # The dependencies are coroutines on purpose: FastAPI runs a plain ``def`` dependency in
    # its thread pool, which halved the request rate of the ingestion routes.
    async def ingest(self, request: Request) -> Role:
        """Dependency: the ingest or the admin token."""
        return self.require(request, Role.INGEST, Role.ADMIN)

    async def admin(self, request: Request) -> Role:
        """Dependency: the admin token."""
        return self.require(request, Role.ADMIN)

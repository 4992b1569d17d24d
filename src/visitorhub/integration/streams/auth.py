"""How a stream authenticates to its receiver: none, Basic, an API-key header, or Standard Webhooks HMAC.

Each mode is a small model with `headers(delivery_id, body)`. The stored form seals the secret fields
(core/secrets.py); `redact` is what the API shows: the mode and its non-secret settings. Every request
carries `webhook-id` (the delivery id, the receiver's idempotency key) whatever the mode; HMAC adds `webhook-timestamp` and `webhook-signature` (https://www.standardwebhooks.com/), signed
afresh at each attempt as the timestamp changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from visitorhub.core.secrets import SecretBox

SECRET_PREFIX = "whsec_"
# Headers a mode may not set: the transport's own and the Standard Webhooks ones.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-type",
        "content-length",
        "transfer-encoding",
        "connection",
        "user-agent",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110 token)


class _Mode(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def headers(self, delivery_id: str, body: bytes) -> dict[str, str]:
        return {}


class NoAuth(_Mode):
    type: Literal["none"] = "none"


class BasicAuth(_Mode):
    type: Literal["basic"]
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(max_length=500, repr=False)

    def headers(self, delivery_id: str, body: bytes) -> dict[str, str]:
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


class ApiKeyAuth(_Mode):
    type: Literal["apiKey"]
    header: str = Field(
        "X-API-Key",
        max_length=100,
        validation_alias=AliasChoices("header", "headerName", "name"),
        description="The header that carries the key (an HTTP token; not one visitorhub sets itself)",
        json_schema_extra={"pattern": _TOKEN.pattern},
    )
    value: str = Field(
        min_length=1,
        max_length=1000,
        repr=False,
        validation_alias=AliasChoices("value", "headerValue", "key", "apiKey"),
        description="The key",
    )

    @field_validator("header")
    @classmethod
    def _header_name(cls, name: str) -> str:
        if not _TOKEN.match(name):
            raise ValueError(f"'{name}' is not a valid HTTP header name")
        if name.lower() in _RESERVED_HEADERS:
            raise ValueError(f"'{name}' is set by visitorhub itself; choose another header")
        return name

    def headers(self, delivery_id: str, body: bytes) -> dict[str, str]:
        return {self.header: self.value}


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class HmacAuth(_Mode):
    type: Literal["hmac"]
    secret: str | None = Field(
        None,
        repr=False,
        description="whsec_ followed by base64 of 24 to 64 random bytes; generated (and shown once) if left out",
    )

    @field_validator("secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        if secret is None:
            return None
        raw = secret.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(raw, validate=True)
        except ValueError:
            raise ValueError("the secret must be 'whsec_' followed by base64") from None
        if not 24 <= len(key) <= 64:
            raise ValueError("the secret must hold 24 to 64 bytes (before base64)")
        return SECRET_PREFIX + raw

    def signature(self, delivery_id: str, timestamp: int, body: bytes) -> str:
        assert self.secret is not None
        key = base64.b64decode(self.secret.removeprefix(SECRET_PREFIX))
        signed = f"{delivery_id}.{timestamp}.".encode() + body
        return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()

    def headers(self, delivery_id: str, body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        return {
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self.signature(delivery_id, timestamp, body),
        }


AnyAuth = NoAuth | BasicAuth | ApiKeyAuth | HmacAuth
ReceiverAuth = Annotated[AnyAuth, Field(discriminator="type")]
_adapter: TypeAdapter[AnyAuth] = TypeAdapter(ReceiverAuth)


SECRET_FIELDS = frozenset({"password", "value", "secret"})


def dump_auth(auth: _Mode, box: SecretBox) -> dict[str, Any]:
    """The stored form: the settings, with each secret sealed by `box`."""
    stored = auth.model_dump(mode="json", exclude_none=True)
    return {key: box.seal(value) if key in SECRET_FIELDS else value for key, value in stored.items()}


def load_auth(stored: dict[str, Any], box: SecretBox) -> AnyAuth:
    """The mode, ready to sign; raises SecretUnavailable when `box` cannot open a secret."""
    opened = {key: box.open(value) if key in SECRET_FIELDS else value for key, value in stored.items()}
    return _adapter.validate_python(opened)


def redact(stored: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of the stored form: everything but the secrets."""
    return {key: value for key, value in stored.items() if key not in SECRET_FIELDS}


def request_headers(auth: AnyAuth, delivery_id: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "webhook-id": delivery_id, **auth.headers(delivery_id, body)}

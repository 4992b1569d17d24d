"""How a channel checks its senders: the streams' auth modes (integration/streams/auth.py), verified.

Basic and API-key credentials are checked from the headers alone, before the body is read; a Standard
Webhooks signature (https://www.standardwebhooks.com/) needs the body: `webhook-id`, `webhook-timestamp`
within TOLERANCE_SECONDS of this server's clock, and one `v1,` signature in `webhook-signature` that is the
HMAC-SHA256 of `id.timestamp.body` under the channel's secret. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Mapping

from visitorhub.errors import Unauthorized
from visitorhub.integration.streams.auth import AnyAuth, ApiKeyAuth, BasicAuth, HmacAuth

TOLERANCE_SECONDS = 300
MAX_WEBHOOK_ID = 256


class BadCredentials(Unauthorized):
    """A 401 that carries the challenge of the channel's mode (Basic asks for a password prompt)."""

    def __init__(self, message: str, challenge: str | None = None) -> None:
        super().__init__(message, code="bad_credentials")
        self.challenge = challenge


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def check_headers(auth: AnyAuth, headers: Mapping[str, str]) -> None:
    """Basic and API-key credentials, from the headers alone (before the body is read)."""
    if isinstance(auth, BasicAuth):
        challenge = 'Basic realm="visitorhub", charset="UTF-8"'
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or not token.strip():
            raise BadCredentials(
                "This channel takes HTTP Basic auth: send 'Authorization: Basic <base64 of user:password>'.",
                challenge,
            )
        try:
            username, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise BadCredentials(
                "The Basic credentials are not base64 of 'user:password'.", challenge
            ) from None
        # Both compared whatever the first gives, so the time taken says nothing about which one is wrong.
        if not (_same(username, auth.username) & _same(password, auth.password)):
            raise BadCredentials("Invalid username or password.", challenge)
    elif isinstance(auth, ApiKeyAuth):
        given = headers.get(auth.header.lower())
        if not given:
            raise BadCredentials(f"This channel takes an API key: send it in the '{auth.header}' header.")
        if not _same(given, auth.value):
            raise BadCredentials(f"Invalid API key in the '{auth.header}' header.")


def check_signature(auth: AnyAuth, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """A Standard Webhooks signature over the body, for an `hmac` channel (other modes: nothing to do)."""
    if not isinstance(auth, HmacAuth):
        return
    delivery_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    missing = [
        name
        for name, value in (
            ("webhook-id", delivery_id),
            ("webhook-timestamp", stamp),
            ("webhook-signature", signatures),
        )
        if not value
    ]
    if missing:
        raise BadCredentials(
            f"This channel takes Standard Webhooks signatures: {', '.join(missing)} missing."
        )
    if len(delivery_id) > MAX_WEBHOOK_ID:
        raise BadCredentials(f"webhook-id is longer than {MAX_WEBHOOK_ID} characters.")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise BadCredentials("webhook-timestamp is not a number of seconds since the epoch.") from None
    skew = abs((time.time() if now is None else now) - timestamp)
    if skew > TOLERANCE_SECONDS:
        raise BadCredentials(
            f"webhook-timestamp is {skew:.0f} s away from this server's clock; at most "
            f"{TOLERANCE_SECONDS} s are accepted (a replay, or a clock to set right)."
        )
    expected = auth.signature(delivery_id, timestamp, body).encode()
    # A space-separated list (several during a secret rotation); versions other than v1 are skipped.
    offered = [part.encode() for part in signatures.split() if part.startswith("v1,")]
    if not any(hmac.compare_digest(part, expected) for part in offered):
        raise BadCredentials("No webhook-signature matches the body under this channel's secret.")

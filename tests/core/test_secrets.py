"""Sealing secrets at rest with VISITORHUB_SECRETS_KEY."""

from __future__ import annotations

import pytest

from visitorhub.core.secrets import PREFIX, SecretBox, SecretUnavailable


def test_without_a_key_secrets_are_stored_as_given() -> None:
    box = SecretBox(None)
    assert not box.sealing
    assert box.seal("pw") == "pw"
    assert box.open("pw") == "pw"


@pytest.mark.parametrize(
    "key", ["NvZJKPjOUPKl4rQ1u_aTnh8sUZPdHZL8Qwf95XyJ61I=", "a long passphrase, not a Fernet key"]
)
def test_a_key_seals_and_opens(key: str) -> None:
    box = SecretBox(key)
    sealed = box.seal("pw-123")
    assert sealed.startswith(PREFIX)
    assert "pw-123" not in sealed
    assert box.seal("pw-123") != sealed  # a fresh token each time
    assert box.open(sealed) == "pw-123"
    assert box.open("plain, stored before a key was set") == "plain, stored before a key was set"


def test_keys_rotate() -> None:
    old, new = "old passphrase", "new passphrase"
    sealed_with_old = SecretBox(old).seal("pw")
    rotated = SecretBox(f"{new},{old}")
    assert rotated.open(sealed_with_old) == "pw"
    assert SecretBox(new).open(rotated.seal("pw")) == "pw"


def test_a_missing_or_wrong_key_is_a_clear_error() -> None:
    sealed = SecretBox("right key").seal("pw")
    with pytest.raises(SecretUnavailable, match="not set"):
        SecretBox(None).open(sealed)
    with pytest.raises(SecretUnavailable, match="does not hold"):
        SecretBox("wrong key").open(sealed)

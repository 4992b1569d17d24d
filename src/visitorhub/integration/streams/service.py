"""Subscriptions: validate and store them, place their cursor, and read them back without secrets.

Subscriptions are configuration, not visitor data: they are not written to the change log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.config import Settings
from visitorhub.core import changelog
from visitorhub.core.db import as_utc, get_or_404, utcnow
from visitorhub.core.http import UnsafeTarget, check_url_on_save
from visitorhub.core.secrets import secret_box
from visitorhub.domains import all_resources
from visitorhub.errors import AppError, Conflict, InvalidInput, NotFound, ValidationErrors
from visitorhub.integration.streams.auth import HmacAuth, dump_auth, new_secret
from visitorhub.integration.streams.schemas import (
    DEFAULT_PER_PAYLOAD,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionUpdate,
)
from visitorhub.integration.templates import service as templates
from visitorhub.models.stream import StreamDelivery, StreamSubscription

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
T = TypeVar("T")


def _check(errors: list[tuple[str | None, str, str]], check: Callable[[], T]) -> T | None:
    """Run one check of a body, keeping its 422 in `errors` so that every failing field is reported."""
    try:
        return check()
    except InvalidInput as exc:
        errors.append((exc.field, exc.code, exc.message))
        return None


def _raise_all(errors: list[tuple[str | None, str, str]]) -> None:
    if errors:
        raise ValidationErrors(errors)


def streams() -> dict[str, str]:
    """Stream name (the plural API form) -> change-log entity name, for every entity that exists."""
    return {name: resource.entity for name, resource in sorted(all_resources().items())}


def stream_entity(stream: str) -> str:
    entity = streams().get(stream)
    if entity is None:
        raise InvalidInput(
            f"stream: '{stream}' is not a stream; choose one of {', '.join(streams())}.",
            field="stream",
            code="unknown_stream",
        )
    return entity


def check_url(url: str, settings: Settings) -> str:
    try:
        check_url_on_save(url, settings.allow_private_targets)
    except UnsafeTarget as exc:
        raise InvalidInput(f"url: {exc}", field="url", code="unsafe_url") from None
    return url


def check_template(session: Session, name: str, entity: str) -> None:
    """An `out` template whose only entity is the stream's: it shapes one record at a time."""
    try:
        template = templates.resolve(session, name)
    except AppError as exc:
        raise InvalidInput(f"template: {exc.message}", field="template", code="invalid_template") from None
    if template.direction != "out":
        raise InvalidInput(
            f"template: '{name}' is an import (in) template; a stream needs an export (out) one.",
            field="template",
            code="invalid_template",
        )
    types = [entity_map.type for entity_map in template.entities]
    if types != [entity]:
        raise InvalidInput(
            f"template: '{name}' maps {', '.join(types)}; a record of this stream is one {entity}, so the "
            f"template must map {entity} alone.",
            field="template",
            code="invalid_template",
        )


def _check_sizes(max_per_run: int, max_per_payload: int) -> None:
    if max_per_payload > max_per_run:
        raise InvalidInput(
            f"maxPerPayload: {max_per_payload} is more than maxPerRun ({max_per_run}); a payload is sent "
            "within one run.",
            field="maxPerPayload",
            code="too_large",
        )


def _check_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    other = session.scalar(select(StreamSubscription.id).where(StreamSubscription.name == name))
    if other is not None and other != own_id:
        raise Conflict(f"A subscription named '{name}' already exists.", field="name", code="duplicate")


def cursor_for(session: Session, start_date: datetime | None) -> int:
    """Where a subscription starts: after every change so far (from now on), or before the first change
    at or after `start_date` (runs also skip changes older than it, in case clocks and seqs disagree)."""
    return changelog.seq_before(session, start_date)


def _prepare_auth(auth: Any, settings: Settings) -> tuple[dict[str, Any], str | None]:
    """The stored auth (secrets sealed), and the secret to show once when visitorhub generated it."""
    box = secret_box(settings.secrets_key)
    if isinstance(auth, HmacAuth) and auth.secret is None:
        secret = new_secret()
        return dump_auth(auth.model_copy(update={"secret": secret}), box), secret
    return dump_auth(auth, box), None


def create_subscription(
    session: Session, body: SubscriptionCreate, settings: Settings
) -> tuple[StreamSubscription, str | None]:
    errors: list[tuple[str | None, str, str]] = []
    entity = _check(errors, lambda: stream_entity(body.stream))
    _check(errors, lambda: check_url(body.url, settings))
    # maxPerPayload left out: 50, or maxPerRun when smaller; only one given above maxPerRun is a 422.
    max_per_payload = body.max_per_payload or min(DEFAULT_PER_PAYLOAD, body.max_per_run)
    _check(errors, lambda: _check_sizes(body.max_per_run, max_per_payload))
    template = body.template
    if template is not None and entity is not None:
        found = entity
        _check(errors, lambda: check_template(session, template, found))
    _raise_all(errors)
    assert entity is not None
    _check_name_free(session, body.name)
    auth, secret = _prepare_auth(body.auth, settings)
    start_date = as_utc(body.start_date) if body.start_date else None
    now = utcnow()
    sub = StreamSubscription(
        name=body.name,
        stream=body.stream,
        entity=entity,
        url=body.url,
        auth=auth,
        interval_minutes=body.interval_minutes,
        max_per_run=body.max_per_run,
        max_per_payload=max_per_payload,
        max_attempts=body.max_attempts,
        start_date=start_date,
        enabled=body.enabled,
        template=body.template,
        cursor_seq=cursor_for(session, start_date),
        next_run_at=now,
        creation_date=now,
        update_date=now,
    )
    session.add(sub)
    session.flush()
    return sub, secret


def get_subscription(session: Session, subscription_id: int) -> StreamSubscription:
    sub = get_or_404(
        session,
        StreamSubscription,
        subscription_id,
        what=f"Subscription {subscription_id}",
        field="subscriptionId",
    )
    return sub


def get_delivery(session: Session, delivery_id: str) -> StreamDelivery:
    delivery = get_or_404(
        session, StreamDelivery, delivery_id, what=f"Delivery {delivery_id}", field="deliveryId"
    )
    return delivery


def get_by_name(session: Session, name: str) -> StreamSubscription:
    sub = session.scalar(select(StreamSubscription).where(StreamSubscription.name == name))
    if sub is None:
        raise NotFound(f"Subscription '{name}' does not exist.", field="name")
    return sub


def list_subscriptions(
    session: Session, offset: int = 0, limit: int | None = None
) -> list[StreamSubscription]:
    stmt = select(StreamSubscription).order_by(StreamSubscription.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def pending_deliveries(session: Session, sub: StreamSubscription) -> list[StreamDelivery]:
    """The payloads built and not yet accepted, oldest first: the next runs send them in this order."""
    stmt = select(StreamDelivery).where(
        StreamDelivery.subscription_id == sub.id, StreamDelivery.status == PENDING
    )
    return list(session.scalars(stmt.order_by(StreamDelivery.first_seq)))


def update_subscription(
    session: Session, sub: StreamSubscription, body: SubscriptionUpdate, settings: Settings
) -> str | None:
    """Apply a PATCH; the secret to show once when a new HMAC secret was generated."""
    changes = body.model_dump(exclude_unset=True)
    errors: list[tuple[str | None, str, str]] = []
    if changes.pop("stream", sub.stream) != sub.stream:
        errors.append(
            (
                "stream",
                "immutable",
                "stream: a subscription's stream cannot change; create another subscription.",
            )
        )
    if "url" in changes:
        _check(errors, lambda: check_url(changes["url"], settings))
    max_per_run = changes.get("max_per_run", sub.max_per_run)
    if "max_per_payload" in changes:
        _check(errors, lambda: _check_sizes(max_per_run, changes["max_per_payload"]))
    elif sub.max_per_payload > max_per_run:  # only maxPerRun given, and lowered below it: it follows
        changes["max_per_payload"] = max_per_run
    if changes.get("template") is not None:
        _check(errors, lambda: check_template(session, changes["template"], sub.entity))
    _raise_all(errors)
    if "name" in changes:
        _check_name_free(session, changes["name"], sub.id)
    secret = None
    if "auth" in changes:
        sub.auth, secret = _prepare_auth(body.auth, settings)
        del changes["auth"]
    if "start_date" in changes:
        # A new start date re-places the cursor (a re-sync, or a jump forward); the payloads waiting to be
        # accepted belong to the old position, so they are abandoned (dead-lettered, and replayable).
        start_date = changes.pop("start_date")
        start_date = as_utc(start_date) if start_date else None
        for pending in pending_deliveries(session, sub):
            pending.status = DEAD
            pending.dead_at = utcnow()
            pending.error = "abandoned: the subscription's startDate changed"
        sub.start_date = start_date
        sub.cursor_seq = cursor_for(session, start_date)
    for key, value in changes.items():
        setattr(sub, key, value)
    if changes.get("enabled") is True and sub.next_run_at is None:
        sub.next_run_at = utcnow()
    sub.update_date = utcnow()
    session.flush()
    return secret


def delete_subscription(session: Session, sub: StreamSubscription) -> None:
    """The subscription and its delivery log go; a run in progress stops at its next payload."""
    session.delete(sub)
    session.flush()


def lag(session: Session, sub: StreamSubscription) -> int:
    """How far behind the receiver is: the records of the stream waiting after the cursor (not a seq
    difference, which counts every other entity's changes too)."""
    return changelog.count_after(session, sub.entity, sub.cursor_seq)


def represent(session: Session, sub: StreamSubscription, secret: str | None = None) -> dict[str, Any]:
    """The subscription as the API shows it; `secret`: a generated HMAC secret, shown this once."""
    pending = next(iter(pending_deliveries(session, sub)), None)
    read = SubscriptionCreated.model_validate(sub).model_copy(
        update={"lag": lag(session, sub), "pending_delivery_id": pending.id if pending else None}
    )
    data = read.as_json()
    if secret is None:
        del data["secret"]
    else:
        data["secret"] = secret
    return data

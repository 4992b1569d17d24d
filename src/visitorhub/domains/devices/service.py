"""Device rules: registering a device the visitor already has (same token) updates it; each register also
records the app (urwAppId) it came from, with its push token."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from visitorhub.core.service import CrudService, WriteContext
from visitorhub.models import App, Device


class DeviceService(CrudService[Device]):
    def register(
        self, session: Session, visitor_id: uuid.UUID, values: dict[str, Any], ctx: WriteContext
    ) -> tuple[Device, bool]:
        """Create or update the visitor's device with values["token"], and its app; (device, created)."""
        from visitorhub.domains.devices.resources import apps

        values = dict(values)
        urw_app_id = values.pop("urw_app_id")
        device = session.scalars(
            select(Device).where(Device.visitor_id == visitor_id, Device.token == values["token"])
        ).first()
        created = device is None
        if device is None:
            device = self.create(session, {**values, "visitor_id": visitor_id}, ctx)
        else:
            self.update(session, device, {k: v for k, v in values.items() if k != "token"}, ctx)
        app = session.scalars(
            select(App).where(App.device_id == device.device_id, App.urw_app_id == urw_app_id)
        ).first()
        token = values["notification_token"]
        if app is None:
            apps.service.create(
                session,
                {"device_id": device.device_id, "urw_app_id": urw_app_id, "notification_token": token},
                ctx,
            )
        else:
            apps.service.update(session, app, {"notification_token": token}, ctx)
        return device, created

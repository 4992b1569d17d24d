"""Declarations of the devices and apps resources."""

from __future__ import annotations

from visitorhub.core.resource import Resource
from visitorhub.domains.devices.schemas import AppRead, DeviceRead
from visitorhub.domains.devices.service import DeviceService
from visitorhub.models import App, Device

devices = Resource(
    name="devices",
    entity="Device",
    model=Device,
    read=DeviceRead,
    service_class=DeviceService,
    parent="visitors",
    key="deviceId",
    sortable=("creationDate", "updateDate", "platform"),
    operations={"list": 48, "get": 49, "delete": 50},
    descriptions={"delete": "Deletes the device and its apps."},
)
device_service = devices.service_as(DeviceService)

# Written by the device register (PUT), listed by GET .../devices/{deviceId}/apps, deleted with the device.
apps = Resource(
    name="apps",
    entity="App",
    model=App,
    read=AppRead,
    parent="devices",
    key="appId",
    sortable=("creationDate", "updateDate", "urwAppId"),
)

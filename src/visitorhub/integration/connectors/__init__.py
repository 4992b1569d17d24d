"""Connectors: keep a remote system in step with the hub through its own API, one folder per system.

KINDS is the one list of connector kinds (connectors/base.py says what a kind provides); `sync.py` is the
engine they share.
"""

from __future__ import annotations

from visitorhub.integration.connectors.base import Connector
from visitorhub.integration.connectors.entervo.connector import EntervoConnector

KINDS: dict[str, type[Connector]] = {EntervoConnector.kind: EntervoConnector}

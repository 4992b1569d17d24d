"""Periodic tasks: `@periodic("area.action")` on a function of a TaskContext; the modules that hold them are
listed once, in `task_modules`."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class TaskContext:
    """What a task may use: settings, sessions (it owns its units of work), the stop signal, and resources
    kept for the worker's lifetime (`keep`)."""

    settings: Settings
    sessions: sessionmaker[Session]
    stop: threading.Event
    kept: dict[str, Any]
    closing: ExitStack

    def keep(self, name: str, open_: Callable[[], AbstractContextManager[T]]) -> T:
        """A resource opened on first use (e.g. an HTTP client with its connection pool), shared by every
        tick of this worker, and closed when the worker stops."""
        if name not in self.kept:
            self.kept[name] = self.closing.enter_context(open_())
        resource: T = self.kept[name]
        return resource


Task = Callable[[TaskContext], None]
_TASKS: dict[str, Task] = {}

# Every module that declares periodic tasks; importing them registers their tasks.
task_modules = ("visitorhub.integration.streams.tasks", "visitorhub.integration.connectors.tasks")


def periodic(name: str) -> Callable[[Task], Task]:
    """Run the function on every worker tick; it finds its own due work and returns when there is none."""

    def register(func: Task) -> Task:
        assert name not in _TASKS, f"two periodic tasks named {name}"
        _TASKS[name] = func
        return func

    return register


def periodic_tasks() -> dict[str, Task]:
    for module in task_modules:
        importlib.import_module(module)
    return dict(_TASKS)

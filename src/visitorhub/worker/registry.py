"""Periodic tasks: `@periodic("area.action")` on a function of a TaskContext; the modules that hold them are
listed once, in `task_modules`."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings


@dataclass(frozen=True)
class TaskContext:
    """What a task may use: settings, sessions (it owns its units of work), the stop signal, and the
    worker thread's own resources (e.g. an HTTP client) by name."""

    settings: Settings
    sessions: sessionmaker[Session]
    stop: threading.Event
    resources: dict[str, Any]


Task = Callable[[TaskContext], None]
_TASKS: dict[str, Task] = {}

# Every module that declares periodic tasks; importing them registers their tasks.
task_modules = ("visitorhub.integration.streams.tasks",)


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

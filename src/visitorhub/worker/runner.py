"""The worker loop: every tick, each periodic task in turn; a clean stop between payloads."""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from visitorhub.config import Settings
from visitorhub.worker.registry import TaskContext, periodic_tasks

log = logging.getLogger("visitorhub.worker")


class Worker:
    """Runs the periodic tasks until `stop` is set. Any number of workers may run side by side on
    PostgreSQL: they share the work through the database (claims with SKIP LOCKED, leases)."""

    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], stop: threading.Event | None = None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.stop = stop or threading.Event()
        self._kept: dict[str, Any] = {}
        self._closing = ExitStack()

    def close(self) -> None:
        """Close what the tasks kept (see TaskContext.keep)."""
        self._closing.close()
        self._kept.clear()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def context(self) -> TaskContext:
        return TaskContext(self.settings, self.sessions, self.stop, self._kept, self._closing)

    def run_once(self) -> None:
        context = self.context()
        for name, task in periodic_tasks().items():
            if self.stop.is_set():
                return
            try:
                task(context)
            except Exception:  # one failing task must not stop the others, nor the loop
                log.exception("worker.task_failed task=%s", name)

    def run_forever(self) -> None:
        log.info("worker.started poll=%ss", self.settings.worker_poll_seconds)
        with self:
            while not self.stop.is_set():
                self.run_once()
                self.stop.wait(self.settings.worker_poll_seconds)
        log.info("worker.stopped")


class WorkerThread:
    """The worker inside `visitorhub serve` (embedded default): started and stopped with the app."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.worker = Worker(settings, sessions)
        self.thread = threading.Thread(target=self.worker.run_forever, name="visitorhub-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Let the payload in flight finish (bounded by the request timeout), then return."""
        self.worker.stop.set()
        self.thread.join(timeout=self.worker.settings.streams_timeout_seconds + 10)

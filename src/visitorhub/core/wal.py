"""SQLite's write-ahead log copied into the database by a thread of its own, not by the writers' commits.

In WAL mode a commit appends the pages it changed to the log; a checkpoint copies them back into the
database file and fsyncs it. SQLite runs the checkpoint inside the commit that makes the log cross
wal_autocheckpoint pages (10,000 here: core.db), so that writer pays for everything written since the last
one: on an inbound channel's writer, about a quarter of its commits' time (bench/README.md, channels).

The server (app lifespan) runs a BackgroundCheckpointer instead: every `period` seconds a PASSIVE checkpoint
on a connection of its own, which copies what the log holds without waiting for, or blocking, any reader or
writer. SQLite's C code holds no Python lock, so the copy runs beside the writers on another core. The
writers' own autocheckpoint stays as the backstop, for a log that grows faster than the thread copies it or
while a long read keeps the log from starting over.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.engine import Engine

log = logging.getLogger("visitorhub.db")


def has_wal_file(engine: Engine) -> bool:
    """A SQLite database in a file (an in-memory one has no log to copy)."""
    database = engine.url.database or ""
    return (
        engine.dialect.name == "sqlite" and database not in ("", ":memory:") and "mode=memory" not in database
    )


class BackgroundCheckpointer:
    """A daemon thread checkpointing `engine`'s SQLite database every `period` seconds until stop()."""

    def __init__(self, engine: Engine, period: float) -> None:
        self.engine = engine
        self.period = period
        self.checkpoints = 0  # checkpoints run (tests, diagnostics)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpointer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = 10) -> None:
        """End the thread (after the checkpoint in progress, if any) and close its connection."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        # A connection of the thread's own, out of the engine's pool (configured as every other: WAL).
        connection = self.engine.raw_connection()
        connection.detach()
        failing = False
        try:
            while not self._stop.wait(self.period):
                try:
                    cursor = connection.cursor()
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    cursor.fetchall()
                    cursor.close()
                    self.checkpoints += 1
                    failing = False
                except Exception as exc:  # the writers' own checkpoints go on meanwhile
                    if not failing:
                        log.warning("The background checkpoint of the SQLite log failed (retried): %s", exc)
                    failing = True
        finally:
            connection.close()

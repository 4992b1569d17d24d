"""core.batch.read_ahead: a stream's items made one ahead of their consumer, by a thread of their own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from visitorhub.core.batch import read_ahead


def test_every_item_in_order() -> None:
    with read_ahead(iter(range(1000))) as items:
        assert list(items) == list(range(1000))


def test_the_next_item_is_made_while_the_consumer_holds_this_one_and_no_more() -> None:
    second_made = threading.Event()
    made: list[int] = []

    def items() -> Iterator[int]:
        for n in (1, 2, 3):
            made.append(n)
            if n == 2:
                second_made.set()
            yield n

    with read_ahead(items()) as ready:
        assert next(ready) == 1
        assert second_made.wait(timeout=10)  # made by the other thread while this one holds the first
        time.sleep(0.05)
        assert made == [1, 2]  # the third waits until the second is taken
        assert list(ready) == [2, 3]


def test_an_error_reaches_the_consumer_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("the file went away")

    taken: list[int] = []

    def consume() -> None:
        with read_ahead(items()) as ready:
            taken.extend(ready)

    with pytest.raises(OSError, match="went away"):
        consume()
    assert taken == [1, 2]


def test_leaving_early_stops_the_thread_one_item_ahead() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for n in range(1000):
            made.append(n)
            yield n

    before = threading.active_count()
    with read_ahead(items()) as ready:
        assert next(ready) == 0
    assert threading.active_count() == before  # the thread has ended when the block is left
    assert made in ([0], [0, 1])  # the one taken, and the one made ahead of it if it was begun

"""The collector pause nests, survives exceptions, and leaves a disabled collector off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from glasskey.core._gc import collector_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_pause_nests_and_resumes_after_the_outermost_block() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


def test_an_exception_still_resumes_the_collector() -> None:
    gc.enable()
    with pytest.raises(RuntimeError, match="boom"), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_the_application_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_in_two_threads_resume_once_both_end() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with collector_paused():
        pass
    assert not gc.isenabled()  # the other thread's block has not ended
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_what_the_section_kept_is_not_left_young_and_cycles_are_still_collected() -> None:
    """Survivors go to the oldest generation unscanned (no young collection of them later);
    a garbage cycle made inside is found by the next full collection."""
    import weakref

    class Node:
        pass

    gc.enable()
    gc.collect()
    with collector_paused():
        kept = [[i] for i in range(20_000)]
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        cycle = weakref.ref(a)
        del a, b
    assert gc.get_count()[0] < 1_000  # not 20,000 young objects waiting for a scan
    assert cycle() is not None  # reference counting cannot free a cycle
    gc.collect()
    assert cycle() is None
    assert len(kept) == 20_000

"""A Redis reader's feed, without Redis: a worker's own appends are handed over at once
when they follow the cursor, kept while a gap lies before them, and handed over in
order once a read fills it (``realtime.backends.redis_wakes.Feed``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from realtime.backends.base import LogEntry, Subscriber, stamped_entry
from realtime.backends.redis_wakes import EARLY_LIMIT, Feed, log_of_wake, wake_key
from tests.realtime.contract.rt_helpers import delta

STREAM = "vc:{s}:log"


def entries(first: int, last: int) -> list[LogEntry]:
    return [stamped_entry(seq, "e1", delta(seq)) for seq in range(first, last + 1)]


def feed_with_subscriber(cursor: int = 0) -> tuple[Feed, Subscriber]:
    sub = Subscriber("s", cursor, "e1", maxsize=0)
    feed = Feed("s", STREAM, "e1", cursor, wake_key(STREAM, "r1"), {sub})
    return feed, sub


def seqs(sub: Subscriber) -> list[int]:
    return [entry.seq for entry in sub.queue]


def test_own_entries_after_the_cursor_go_at_once() -> None:
    feed, sub = feed_with_subscriber()
    assert feed.own(entries(1, 3))
    assert seqs(sub) == [1, 2, 3] and feed.cursor == 3


def test_own_entries_behind_a_gap_wait_for_the_read_that_fills_it() -> None:
    feed, sub = feed_with_subscriber()
    assert feed.own(entries(1, 1))
    assert not feed.own(entries(3, 4))  # seq 2 is another worker's, not read yet
    assert seqs(sub) == [1] and feed.cursor == 1
    for entry in entries(2, 3):  # the stream read brings 2, and 3 again
        if entry.seq > feed.cursor:
            feed.offer(entry)
    feed.release_early()
    assert seqs(sub) == [1, 2, 3, 4] and feed.cursor == 4 and not feed.early


def test_own_entries_already_read_are_not_handed_over_twice() -> None:
    feed, sub = feed_with_subscriber()
    for entry in entries(1, 5):
        feed.offer(entry)
    assert feed.own(entries(4, 6))
    assert seqs(sub) == [1, 2, 3, 4, 5, 6]


def test_too_many_kept_entries_are_dropped_for_a_read() -> None:
    feed, sub = feed_with_subscriber()
    assert not feed.own(entries(2, EARLY_LIMIT + 2))
    assert not feed.early and feed.to_read and seqs(sub) == []


def test_a_wake_stream_names_its_log() -> None:
    assert wake_key(STREAM, "r1") == "vc:{s}:wake:r1"
    assert log_of_wake(wake_key(STREAM, "r1"), "r1") == STREAM


@given(st.permutations(list(range(1, 13))), st.sets(st.integers(1, 12)))
def test_any_order_of_answers_hands_over_each_seq_once_in_order(
    answered: list[int], read_first: set[int]
) -> None:
    """Own appends answered in any order (Cluster), with a stream read delivering some
    seqs first: every seq reaches the subscriber once, in order, once all are known."""
    feed, sub = feed_with_subscriber()
    for seq in sorted(read_first):  # a read hands over a prefix of the log only
        if seq == feed.cursor + 1:
            feed.offer(entries(seq, seq)[0])
    for seq in answered:
        feed.own(entries(seq, seq))
    assert seqs(sub) == list(range(1, 13))

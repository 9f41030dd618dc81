"""The in-process backend's presence roster counts exactly what a scan of every entry
counts (the scan it replaced), whatever the order of touches, leaves, cuts and counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from realtime.backends.memory_presence import Roster
from realtime.events import Presence
from realtime.vocabulary import Role


@dataclass
class Scan:
    """The obvious model: every entry with its deadline, counted by walking them all."""

    entries: dict[str, tuple[Role, float]] = field(default_factory=dict)

    def touch(self, conn_id: str, role: Role, deadline: float) -> None:
        self.entries[conn_id] = (role, deadline)

    def leave(self, conn_id: str) -> None:
        self.entries.pop(conn_id, None)

    def cut_to(self, deadline: float) -> None:
        for conn_id, (role, ends) in self.entries.items():
            self.entries[conn_id] = (role, min(ends, deadline))

    def count(self, now: float) -> Presence:
        alive = [role for role, ends in self.entries.values() if ends > now]
        self.entries = {c: (r, e) for c, (r, e) in self.entries.items() if e > now}
        return Presence(
            student_online=Role.STUDENT in alive,
            observers=sum(1 for role in alive if role is not Role.STUDENT),
        )


CONNS = st.sampled_from(["a", "b", "c", "d"])
ROLES = st.sampled_from(list(Role))
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("touch"), CONNS, ROLES, st.integers(0, 6)),
        st.tuples(st.just("leave"), CONNS),
        st.tuples(st.just("cut"), st.integers(0, 6)),
        st.tuples(st.just("tick"), st.integers(0, 3)),
    ),
    max_size=40,
)


@given(STEPS)
def test_the_roster_counts_what_a_scan_counts(steps: list[tuple[object, ...]]) -> None:
    roster, scan, now = Roster(), Scan(), 0
    for step in steps:
        match step:
            case ("touch", str(conn_id), Role() as role, int(ttl)):
                roster.touch(conn_id, role, now + ttl)
                scan.touch(conn_id, role, now + ttl)
            case ("leave", str(conn_id)):
                roster.leave(conn_id)
                scan.leave(conn_id)
            case ("cut", int(after)):
                roster.cut_to(now + after)
                scan.cut_to(now + after)
            case ("tick", int(seconds)):
                now += seconds
        assert roster.count(now) == scan.count(now)
        assert bool(roster) == bool(scan.entries)


def test_heartbeats_leave_heap_items_only_until_their_deadlines_pass() -> None:
    roster = Roster()
    for beat in range(5):  # five heartbeats over 1,000 sockets, 10 s apart, 30 s TTL
        for conn in range(1_000):
            roster.touch(f"c{conn}", Role.TEACHER, beat * 10 + 30)
    assert roster.count(45) == Presence(student_online=False, observers=1_000)
    assert len(roster._deadlines) == 3_000  # deadlines 50, 60 (stale) and 70
    assert roster.count(65) == Presence(student_online=False, observers=1_000)
    assert len(roster._deadlines) == 1_000  # only each socket's current deadline
    assert roster.count(70) == Presence(student_online=False, observers=0)
    assert not roster and not roster._deadlines

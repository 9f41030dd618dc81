"""The pure revocation core: messages, credentials, and the per-worker registry of live
sockets (no loop, no I/O; an injected clock)."""

from __future__ import annotations

import uuid

from realtime.revocation import (
    LinkRevoked,
    LiveConnections,
    StudentCredential,
    TeacherCredential,
    UserRevoked,
    decode_revocation,
    encode_revocation,
    link_fingerprint,
)
from realtime.vocabulary import CloseCode
from tests.support.clock import DrivenClock

SESSION, OTHER_SESSION = uuid.uuid4(), uuid.uuid4()
TEACHER, OTHER_TEACHER = uuid.uuid4(), uuid.uuid4()
OLD, NEW = link_fingerprint("old-nonce"), link_fingerprint("new-nonce")


class Socket:
    """A registered socket that records how it was told to close."""

    def __init__(self) -> None:
        self.closes: list[tuple[int, str]] = []

    def revoke(self, code: int, reason: str) -> None:
        self.closes.append((code, reason))

    @property
    def codes(self) -> list[int]:
        return [code for code, _ in self.closes]


def test_a_new_join_link_closes_only_the_sockets_of_the_old_one() -> None:
    live = LiveConnections()
    revoked, renewed, elsewhere, teacher = Socket(), Socket(), Socket(), Socket()
    with (
        live.hold(StudentCredential(SESSION, OLD), revoked),
        live.hold(StudentCredential(SESSION, NEW), renewed),
        live.hold(StudentCredential(OTHER_SESSION, OLD), elsewhere),
        live.hold(TeacherCredential(TEACHER, 1), teacher),
    ):
        assert len(live) == 4
        assert live.apply(LinkRevoked(SESSION, OLD)) == 1
    assert revoked.codes == [CloseCode.REVOKED]
    assert renewed.closes == elsewhere.closes == teacher.closes == []
    assert len(live) == 0


def test_a_user_revocation_closes_their_older_cookies_only() -> None:
    live = LiveConnections()
    old, current, colleague = Socket(), Socket(), Socket()
    with (
        live.hold(TeacherCredential(TEACHER, 3), old),
        live.hold(TeacherCredential(TEACHER, 4), current),
        live.hold(TeacherCredential(OTHER_TEACHER, 1), colleague),
    ):
        assert live.apply(UserRevoked(TEACHER, below=4)) == 1
        # Order-independent: an older revocation arriving late closes nothing new.
        assert live.apply(UserRevoked(TEACHER, below=2)) == 0
    assert old.codes == [CloseCode.REVOKED]
    assert current.closes == colleague.closes == []


def test_a_socket_registering_just_after_its_revocation_is_closed_at_once() -> None:
    """Its handshake read SQL before the revocation was committed."""
    clock = DrivenClock()
    live = LiveConnections(clock=clock, remember_seconds=60)
    live.apply(UserRevoked(TEACHER, below=5))
    live.apply(LinkRevoked(SESSION, OLD))
    late_teacher, late_student, fine = Socket(), Socket(), Socket()
    with (
        live.hold(TeacherCredential(TEACHER, 4), late_teacher),
        live.hold(StudentCredential(SESSION, OLD), late_student),
        live.hold(TeacherCredential(TEACHER, 5), fine),
    ):
        assert late_teacher.codes == late_student.codes == [CloseCode.REVOKED]
        assert fine.closes == []
    clock.now += 61  # forgotten: the SQL check at the handshake refuses such a cookie
    forgotten = Socket()
    with live.hold(TeacherCredential(TEACHER, 4), forgotten):
        assert forgotten.closes == []


def test_remembered_revocations_are_bounded() -> None:
    live = LiveConnections(remember_max=2)
    first, second, third = (UserRevoked(uuid.uuid4(), below=2) for _ in range(3))
    for revocation in (first, second, first, third):  # an echo is remembered once
        live.apply(revocation)
    sockets = {revocation: Socket() for revocation in (first, second, third)}
    for revocation, sock in sockets.items():
        with live.hold(TeacherCredential(revocation.user_id, 1), sock):
            pass
    assert [sockets[r].codes for r in (first, second, third)] == [[], [4003], [4003]]


def test_revoke_all_asks_every_socket_to_reconnect() -> None:
    live = LiveConnections()
    sockets = [Socket(), Socket()]
    with (
        live.hold(StudentCredential(SESSION, NEW), sockets[0]),
        live.hold(TeacherCredential(TEACHER, 1), sockets[1]),
    ):
        assert live.revoke_all(CloseCode.RESTART, "re-check credentials") == 2
    assert [s.codes for s in sockets] == [[CloseCode.RESTART], [CloseCode.RESTART]]


def test_messages_round_trip_and_unreadable_ones_are_none() -> None:
    for revocation in (LinkRevoked(SESSION, OLD), UserRevoked(TEACHER, below=7)):
        assert decode_revocation(encode_revocation(revocation)) == revocation
    for junk in (
        "",
        "[]",
        "not json",
        '{"t": "user", "u": "not-a-uuid", "v": 2}',
        f'{{"t": "user", "u": "{TEACHER}", "v": true}}',
        f'{{"t": "user", "u": "{TEACHER}", "v": "2"}}',
        f'{{"t": "link", "s": "{SESSION}"}}',
        f'{{"t": "future", "s": "{SESSION}", "f": "x"}}',
    ):
        assert decode_revocation(junk) is None, junk


def test_the_channel_never_carries_a_join_nonce() -> None:
    nonce = "the-live-nonce-123"
    text = encode_revocation(LinkRevoked(SESSION, link_fingerprint(nonce)))
    assert nonce not in text
    assert link_fingerprint(nonce) == link_fingerprint(nonce) != link_fingerprint(nonce + "x")

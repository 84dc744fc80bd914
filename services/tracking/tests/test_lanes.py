"""The workers of one tracking process split the events by user (consumer.Lane, lane_of).

Two batches in flight that touch the same conversation serialise on its row lock: with
lanes, one process's workers never wait for each other (bench/tracking_bench.py).
"""

from __future__ import annotations

import asyncio

import pytest

from pentagon.common.bus import EVENTS_STREAM, Subjects
from pentagon.common.proto import events_pb2 as pb
from pentagon.tracking.consumer import Lane, lane_of


class FakeMsg:
    """What a lane holds; Lane never looks inside."""

    def __init__(self, n: int) -> None:
        self.n = n


async def test_every_event_of_one_user_lands_in_the_same_lane(js) -> None:
    """The partition token is computed by the server's subject transform: read the stored subjects back."""
    families = [Subjects.incoming, Subjects.outgoing, Subjects.delivery, Subjects.conversation]
    users = [f"psid{i}" for i in range(40)] + ["web user ✉ မောင်"]
    for user in users:
        for family in families:
            await js.publish(family("messenger", user), pb.MessageEvent(event_id="x").SerializeToString())
    lanes_of: dict[str, set[int]] = {}
    seq = 1
    while True:
        try:
            raw = await js.get_msg(EVENTS_STREAM, seq=seq, next=True, subject="events.>")
        except Exception:  # noqa: BLE001 - past the last message
            break
        user = raw.subject.rsplit(".", 1)[1]
        lanes_of.setdefault(user, set()).add(lane_of(raw.subject, 3))
        seq = raw.seq + 1
    assert len(lanes_of) == len(users)
    assert all(len(lanes) == 1 for lanes in lanes_of.values()), lanes_of
    assert {lane for lanes in lanes_of.values() for lane in lanes} == {0, 1, 2}, "users spread over the lanes"


def test_subjects_without_a_partition_go_to_the_first_lane() -> None:
    assert lane_of("events.in.messenger.psid1", 4) == 0  # a stream created before partitions
    assert lane_of("events.in.messenger.17.psid1", 1) == 0
    assert lane_of("events.in.messenger.17.psid1", 4) == 1


async def test_a_lane_gives_full_batches_in_order_then_stops_when_closed() -> None:
    lane = Lane(batch_size=3, taken=asyncio.Event())
    for n in range(5):
        lane.put(FakeMsg(n))
    first = await lane.take(wait_s=10, gap_s=10)
    assert [m.n for m in first] == [0, 1, 2]  # full: no lingering
    lane.close()
    rest = await lane.take(wait_s=10, gap_s=10)
    assert [m.n for m in rest] == [3, 4]  # closed: what is left, at once
    assert await lane.take(wait_s=10, gap_s=10) is None


async def test_a_lane_stops_lingering_at_the_first_quiet_gap() -> None:
    lane = Lane(batch_size=100, taken=asyncio.Event())
    lane.put(FakeMsg(0))
    taking = asyncio.create_task(lane.take(wait_s=60, gap_s=0.05))
    await asyncio.sleep(0.01)
    lane.put(FakeMsg(1))  # within the gap: joins the batch
    batch = await asyncio.wait_for(taking, timeout=30)  # a hang guard, far beyond the 60 s wait
    assert [m.n for m in batch] == [0, 1]


async def test_a_lane_is_full_at_two_batches_and_says_when_one_is_taken() -> None:
    taken = asyncio.Event()
    lane = Lane(batch_size=2, taken=taken)
    for n in range(4):
        assert not lane.full
        lane.put(FakeMsg(n))
    assert lane.full and not taken.is_set()  # the fetcher waits here (Consumer._room)
    await lane.take(wait_s=0, gap_s=0)
    assert not lane.full and taken.is_set()


@pytest.mark.parametrize("workers", ["1", "3"])
async def test_every_event_is_stored_whatever_the_number_of_lanes(start_tracking, js, migrated_url: str,
                                                                   workers: str) -> None:
    from tracking_support import count, message_event, publish_all, wait_for

    start_tracking(TRACKING_WORKERS=workers, TRACKING_BATCH_SIZE="25")
    await publish_all(js, [message_event(f"lane{workers}-{i}", user=f"u{i % 30}", t=i) for i in range(600)])
    await wait_for(lambda: count(migrated_url, f"SELECT count(*) = 600 FROM messages WHERE event_id LIKE 'lane{workers}-%'"))
    wrong = await count(migrated_url, "SELECT count(*) FROM conversations c WHERE message_count <> "
                                      "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)")
    assert wrong == 0

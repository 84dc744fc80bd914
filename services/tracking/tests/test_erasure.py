"""A deleted user's events leave the streams too, not only the database; nothing owed to anyone goes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
from nats.js.errors import NoKeysError

from pentagon.common.bus import DLQ_STREAM, EVENTS_STREAM, UPDATES_STREAM, Subjects
from pentagon.common.events import timestamp
from pentagon.common.proto import events_pb2 as pb
from pentagon.common.proto import tracking_pb2 as tpb

from tracking_support import count, count_is, message_event, publish_all, wait_for


async def subjects(js: Any, stream: str, pattern: str) -> dict[str, int]:
    info = await js.stream_info(stream, subjects_filter=pattern)
    return dict(info.state.subjects or {})


def deletion_event(user: str) -> tuple[str, bytes]:
    event = pb.ConversationEvent(event_id=f"del:{user}", occurred_at=timestamp(),
                                 key=pb.ConversationKey(platform="messenger", user_id=user),
                                 action=pb.CONVERSATION_DELETE_USER_DATA)
    return Subjects.conversation("messenger", user), event.SerializeToString()


async def test_a_deletion_purges_the_users_events_from_every_stream(start_tracking, js, nats_url: str,
                                                                    migrated_url: str) -> None:
    start_tracking()
    await publish_all(js, [message_event("a:1", user="ann", content="my phone is 09 1234 5678"),
                           message_event("r:a:1", user="ann", sender="bot", reply_to_event_id="a:1", t=1),
                           message_event("b:1", user="bob", content="latte please")])
    await js.publish(Subjects.incoming("messenger", "ann"), b"\xff\x00 not an event")  # goes to the DLQ
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM messages", 3))
    await wait_for(lambda: _nonempty(js, DLQ_STREAM, "dlq.events.*.messenger.*.ann"))

    await publish_all(js, [deletion_event("ann")])
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM conversations WHERE user_id = 'ann'", 0))
    await wait_for(lambda: _empty(js, EVENTS_STREAM, "events.*.messenger.*.ann"))
    assert await wait_for(lambda: _only_the_deletion_left(js)), "ann's rows must leave UPDATES, the deletion stays"
    assert await subjects(js, DLQ_STREAM, "dlq.events.*.messenger.*.ann") == {}
    # Bob's events are untouched.
    assert sum((await subjects(js, EVENTS_STREAM, "events.*.messenger.*.bob")).values()) == 1
    assert await subjects(js, UPDATES_STREAM, "updates.message.messenger.bob") == {"updates.message.messenger.bob": 1}

    # Ann writes again afterwards: a new conversation, stored and kept on the bus like anyone's.
    await publish_all(js, [message_event("a:2", user="ann", content="hello again", t=5)])
    await wait_for(lambda: count_is(migrated_url, "SELECT count(*) FROM messages WHERE event_id = 'a:2'", 1))
    assert sum((await subjects(js, EVENTS_STREAM, "events.*.messenger.*.ann")).values()) == 1

    # An admin's deletion (a command, not an event) purges the streams the same way.
    nc = await nats.connect(nats_url)
    try:
        cmd = tpb.Command(command_id="del-bob", action="delete_user", actor="ann:admin",
                          params_json=json.dumps({"platform": "messenger", "user_id": "bob"}))
        reply = tpb.CommandReply()
        reply.ParseFromString((await nc.request("tracking.cmd.delete_user", cmd.SerializeToString(), timeout=10)).data)
        assert reply.ok
    finally:
        await nc.close()
    await wait_for(lambda: _empty(js, EVENTS_STREAM, "events.*.messenger.*.bob"))
    assert await wait_for(lambda: _empty(js, UPDATES_STREAM, "updates.message.messenger.bob"))
    assert await count(migrated_url, "SELECT count(*) FROM messages WHERE event_id = 'a:2'") == 1


async def _empty(js: Any, stream: str, pattern: str) -> bool:
    return await subjects(js, stream, pattern) == {}


async def _nonempty(js: Any, stream: str, pattern: str) -> bool:
    return await subjects(js, stream, pattern) != {}


async def _only_the_deletion_left(js: Any) -> bool:
    return await subjects(js, UPDATES_STREAM, "updates.*.messenger.ann") == {"updates.user_deleted.messenger.ann": 1}


async def _partly_stored(js: Any, user: str) -> Any:
    """Four events of the user on the bus; tracking's durable has stored (acknowledged) the first two."""
    from pentagon.tracking.consumer import DURABLE, FILTER
    from nats.js.api import AckPolicy, ConsumerConfig

    await js.add_consumer(EVENTS_STREAM, ConsumerConfig(durable_name=DURABLE, filter_subject=FILTER,
                                                        ack_policy=AckPolicy.EXPLICIT, ack_wait=60))
    await publish_all(js, [message_event(f"{user}:{i}", user=user, t=i) for i in range(4)])
    pull = await js.pull_subscribe_bind(durable=DURABLE, stream=EVENTS_STREAM)
    for msg in await pull.fetch(2, timeout=5):
        await msg.ack_sync()  # stored; the other two are still on their way to the database
    await js.publish(f"updates.user_deleted.messenger.{user}", b"")
    return pull


async def _events_of(js: Any, user: str) -> int:
    return sum((await subjects(js, EVENTS_STREAM, f"events.*.messenger.*.{user}")).values())


async def test_events_not_yet_stored_are_kept_until_they_are(js) -> None:
    """The purge never reaches past tracking's acknowledged events: what it has not stored stays."""
    from pentagon.common.bus import bus_erasures_bucket
    from pentagon.tracking.consumer import DURABLE
    from pentagon.tracking.erasure import BusEraser

    pull = await _partly_stored(js, "cho")
    kv = await bus_erasures_bucket(js)
    eraser = BusEraser(js, DURABLE, kv)
    await eraser.note("messenger", "cho")

    await eraser.round()
    assert await _events_of(js, "cho") == 2
    assert eraser._jobs, "the job waits for the rest to be stored"  # noqa: SLF001

    for msg in await pull.fetch(2, timeout=5):
        await msg.ack_sync()
    await eraser.round()
    assert await _events_of(js, "cho") == 0
    assert not eraser._jobs  # noqa: SLF001
    assert await _no_jobs(kv)


async def test_a_purge_in_progress_survives_the_replica_that_started_it(js) -> None:
    """Tracking killed mid-purge: the job is in the bucket, and the next replica to run finishes it."""
    from pentagon.common.bus import bus_erasures_bucket
    from pentagon.tracking.consumer import DURABLE
    from pentagon.tracking.erasure import BusEraser

    pull = await _partly_stored(js, "dee")
    kv = await bus_erasures_bucket(js)
    crashed = BusEraser(js, DURABLE, kv)
    await crashed.note("messenger", "dee")
    await crashed.round()  # purges what is stored, then the process dies: nothing of it runs again
    assert await _events_of(js, "dee") == 2

    survivor = BusEraser(js, DURABLE, kv)
    running = asyncio.create_task(survivor.run())
    try:
        for msg in await pull.fetch(2, timeout=5):
            await msg.ack_sync()
        await wait_for(lambda: _no_events_of(js, "dee"))
        await wait_for(lambda: _no_jobs(kv))
    finally:
        survivor.stop()
        await running


async def test_a_newer_deletion_of_the_same_user_is_not_lost_when_an_older_one_finishes(js) -> None:
    from pentagon.common.bus import bus_erasures_bucket
    from pentagon.tracking.consumer import DURABLE
    from pentagon.tracking.erasure import BusEraser

    await _partly_stored(js, "eve")
    kv = await bus_erasures_bucket(js)
    first, second = BusEraser(js, DURABLE, kv), BusEraser(js, DURABLE, kv)
    await first.note("messenger", "eve")
    older = dict(first._jobs)  # noqa: SLF001
    await second.note("messenger", "eve")  # deleted again, on another replica
    first._jobs = older  # noqa: SLF001 - the first replica has not heard of the second deletion yet
    await first._finish(next(iter(older.values())))  # noqa: SLF001 - as if its purge had completed
    assert not await _no_jobs(kv), "the newer deletion's job stays for its own purge"


async def _no_events_of(js: Any, user: str) -> bool:
    return await _events_of(js, user) == 0


async def _no_jobs(kv: Any) -> bool:
    try:
        return await kv.keys() == []
    except NoKeysError:
        return True

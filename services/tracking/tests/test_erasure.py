"""A deleted user's events leave the streams too, not only the database; nothing owed to anyone goes."""

from __future__ import annotations

import json
from typing import Any

import nats

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


async def test_events_not_yet_stored_are_kept_until_they_are(js) -> None:
    """The purge never reaches past tracking's acknowledged events: what it has not stored stays."""
    from pentagon.tracking.consumer import DURABLE, FILTER
    from pentagon.tracking.erasure import BusEraser
    from nats.js.api import AckPolicy, ConsumerConfig

    await js.add_consumer(EVENTS_STREAM, ConsumerConfig(durable_name=DURABLE, filter_subject=FILTER,
                                                        ack_policy=AckPolicy.EXPLICIT, ack_wait=60))
    await publish_all(js, [message_event(f"c:{i}", user="cho", t=i) for i in range(4)])
    pull = await js.pull_subscribe_bind(durable=DURABLE, stream=EVENTS_STREAM)
    first_two = await pull.fetch(2, timeout=5)
    for msg in first_two:
        await msg.ack_sync()  # stored; the other two are still on their way to the database
    await js.publish("updates.user_deleted.messenger.cho", b"")
    eraser = BusEraser(js, DURABLE)
    eraser.note("messenger", "cho")

    await eraser.round()
    assert sum((await subjects(js, EVENTS_STREAM, "events.*.messenger.*.cho")).values()) == 2
    assert eraser._jobs, "the job waits for the rest to be stored"  # noqa: SLF001

    for msg in await pull.fetch(2, timeout=5):
        await msg.ack_sync()
    await eraser.round()
    assert await subjects(js, EVENTS_STREAM, "events.*.messenger.*.cho") == {}
    assert not eraser._jobs  # noqa: SLF001

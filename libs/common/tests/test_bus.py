import nats
import pytest

from pentagon.common.bus import (
    DLQ_STREAM,
    EVENTS_STREAM,
    MODE_BUCKET,
    UPDATES_STREAM,
    Subjects,
    ensure_streams,
    mode_key,
    user_token,
)
from pentagon.common.events import new_event_id, publish
from pentagon.common.proto import events_pb2 as pb


@pytest.mark.parametrize("raw", ["1234567890", "web-abc_DEF", "a" * 64])
def test_plain_ids_are_kept(raw: str) -> None:
    assert user_token(raw) == raw


@pytest.mark.parametrize("raw", ["a.b", "with space", "မင်္ဂလာ", "a" * 65, "h_abc", "x>y", "*", "\x00"])
def test_unsafe_ids_are_hashed_and_subject_safe(raw: str) -> None:
    token = user_token(raw)
    assert token.startswith("h_") and token != raw
    assert all(c.isalnum() or c in "_-" for c in token)
    assert user_token(raw) == token  # stable


def test_hashed_and_raw_ids_never_collide() -> None:
    assert user_token("h_abc") != "h_abc"
    assert user_token(user_token("a.b")) != user_token("a.b")


def test_subjects_have_one_token_per_level() -> None:
    assert Subjects.incoming("messenger", "a.b").count(".") == 3
    assert Subjects.update("message", "web", "u1") == "updates.message.web.u1"
    assert mode_key("web", "u1") == "web.u1"


async def test_streams_are_idempotent_and_dedupe_by_event_id(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    await ensure_streams(js)  # a second replica starting: no error, same config
    names = {info.config.name for info in await js.streams_info()}
    assert {EVENTS_STREAM, UPDATES_STREAM, DLQ_STREAM, f"KV_{MODE_BUCKET}"} <= names

    event = pb.MessageEvent(event_id=new_event_id(), content="hi")
    first = await publish(js, Subjects.incoming("web", "u1"), event, event.event_id)
    again = await publish(js, Subjects.incoming("web", "u1"), event, event.event_id)
    assert again.duplicate and again.seq == first.seq
    assert (await js.stream_info(EVENTS_STREAM)).state.messages == 1
    await nc.close()


async def test_only_the_owner_brings_an_existing_stream_up_to_date(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js, partitions=8)  # an older deployment's configuration

    async def partitions() -> str:
        transform = (await js.stream_info(EVENTS_STREAM)).config.subject_transform
        return transform.dest if transform else ""

    await ensure_streams(js, owner=False)  # a webhook replica starting: leaves it as it is
    assert "partition(8," in await partitions()
    await ensure_streams(js)  # tracking starting: applies the new configuration
    assert "partition(64," in await partitions()
    await nc.close()

"""The bus's users (deploy/nats/users.conf): each service may do its job and nothing else.

A real nats-server runs with that very file (the devtools `nats_server` fixture, as
the local stack, the system and browser tests, and docker compose do). Every other
test of the suite proves the services work under these permissions; these tests
prove the fences hold: a compromised webhook cannot command tracking or flip a
conversation to bot mode, admin-api cannot speak as a customer, nobody but
tracking can rewrite or purge a stream, and the agent only reads the answers staff add.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import KeyNotFoundError

from pentagon.common.bus import (
    BLOCKED_USERS_BUCKET,
    CLOSED_DAYS_BUCKET,
    DLQ_STREAM,
    EVENTS_STREAM,
    KNOWLEDGE_BUCKET,
    MENU_PRICES_BUCKET,
    MODE_BUCKET,
    SAVED_REPLIES_BUCKET,
    SOLD_OUT_BUCKET,
    STAFF_ACCESS_BUCKET,
    UPDATES_STREAM,
    Subjects,
    ensure_streams,
    kv_bucket,
    mode_key,
    stream_configs,
)
from pentagon.devtools.embedded import NatsServer

# A denied JetStream request is never answered: how long to wait before calling it refused.
DENIED_WAIT_S = 1.0


@dataclass
class Member:
    """One service's connection, with the server's permission errors collected."""

    nc: Client
    errors: list[str] = field(default_factory=list)

    def js(self, timeout: float = 10.0) -> JetStreamContext:
        return self.nc.jetstream(timeout=timeout)

    async def refused(self, what: str, subject: str, prefix: bool = False) -> None:
        """The server said no to `what` on `subject` (it names the subject in lower case);
        with `prefix`, on some subject starting with it."""
        wanted = f"permissions violation for {what} to \"{subject.lower()}" + ("" if prefix else "\"")
        for _ in range(500):
            if any(wanted in e.lower() for e in self.errors):
                return
            await asyncio.sleep(0.02)
        pytest.fail(f"no refusal of {what} to {subject}; errors: {self.errors}")


@asynccontextmanager
async def member(server: NatsServer, user: str) -> AsyncIterator[Member]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(server.url_for(user), error_cb=on_error, allow_reconnect=False)
    try:
        yield Member(nc, errors)
    finally:
        await nc.close()


@pytest.fixture
async def bus(nats_url: str, nats_server: NatsServer) -> AsyncIterator[NatsServer]:
    """The streams as tracking leaves them at start, on a wiped JetStream."""
    async with member(nats_server, "tracking") as tracking:
        await ensure_streams(tracking.js())
    yield nats_server


async def _answered(nc: Client, subject: str) -> Any:
    """The command's answer. A run of the whole suite on a loaded machine once got "no responders" here,
    right after the answering queue subscription was flushed; asked again, it is answered. A refused
    request is never answered at all (a timeout), so asking again hides no refusal."""
    for _ in range(20):
        try:
            return await nc.request(subject, b"{}", timeout=10)
        except nats.errors.NoRespondersError:
            await asyncio.sleep(0.25)
    pytest.fail(f"no responder to {subject}")


async def _denied_request(op: Callable[[], Awaitable[Any]]) -> None:
    with pytest.raises(nats.errors.TimeoutError):
        await op()


async def test_each_service_may_do_its_job(bus: NatsServer) -> None:
    async with member(bus, "webhook") as webhook, member(bus, "tracking") as tracking, \
            member(bus, "admin-api") as admin:
        # webhook: customers' events in, its own buckets, the web chat's updates.
        ack = await webhook.js().publish(Subjects.incoming("web", "u1"), b"hello")
        assert ack.stream == EVENTS_STREAM
        history = await kv_bucket(webhook.js(), "chat_history")
        await history.put("web.u1", b"[]")
        heard = await webhook.nc.subscribe(Subjects.update("message", "web", "u1"))
        await webhook.nc.flush()
        await ensure_streams(webhook.js(), owner=False)  # a webhook replica starting

        # tracking: the modes, the updates, stream upkeep and erasure; answers commands.
        modes = await kv_bucket(tracking.js(), MODE_BUCKET)
        await modes.put(mode_key("web", "u1"), b"human")
        await tracking.js().publish(Subjects.update("message", "web", "u1"), b"stored")
        assert (await heard.next_msg(timeout=10)).data == b"stored"
        await ensure_streams(tracking.js(), owner=True)
        await tracking.js().purge_stream(EVENTS_STREAM, subject="events.*.web.*.u1")

        async def answer(msg: Any) -> None:
            await msg.respond(b"done")

        await tracking.nc.subscribe("tracking.cmd.*", queue="tracking", cb=answer)
        await tracking.nc.flush()

        # admin-api: commands to tracking, staff replies out, its own buckets.
        assert (await _answered(admin.nc, Subjects.command("close"))).data == b"done"
        await admin.js().publish(Subjects.outgoing("web", "u1"), b"staff reply")
        access = await kv_bucket(admin.js(), STAFF_ACCESS_BUCKET)
        await access.put("bob", b"revoked")
        blocked = await kv_bucket(admin.js(), BLOCKED_USERS_BUCKET)
        await blocked.put(mode_key("web", "u9"), b"{}")
        await admin.nc.publish(Subjects.staff_typing("web", "u1"), b"typing")
        await admin.nc.flush()

        for one in (webhook, tracking, admin):
            assert not [e for e in one.errors if "permissions violation" in e.lower()], one.errors


async def test_webhook_cannot_command_tracking_or_change_a_conversation(bus: NatsServer) -> None:
    async with member(bus, "webhook") as webhook:
        denied = webhook.js(timeout=DENIED_WAIT_S)
        await webhook.nc.publish(Subjects.command("close"), b"{}")
        await webhook.refused("publish", Subjects.command("close"))
        modes = await denied.key_value(MODE_BUCKET)
        await _denied_request(lambda: modes.put(mode_key("messenger", "p1"), b"bot"))
        await webhook.refused("publish", f"$KV.{MODE_BUCKET}.{mode_key('messenger', 'p1')}")
        await _denied_request(lambda: denied.publish(Subjects.update("message", "web", "u1"), b"forged"))
        await webhook.refused("publish", Subjects.update("message", "web", "u1"))
        await webhook.nc.publish(Subjects.staff_typing("web", "u1"), b"fake staff typing")
        await webhook.refused("publish", Subjects.staff_typing("web", "u1"))
        await webhook.nc.subscribe("tracking.cmd.*")
        await webhook.refused("subscription", "tracking.cmd.*")
    async with member(bus, "admin-api") as admin:
        await kv_bucket(admin.js(), BLOCKED_USERS_BUCKET)
    async with member(bus, "webhook") as webhook:
        blocked = await webhook.js(timeout=DENIED_WAIT_S).key_value(BLOCKED_USERS_BUCKET)
        await _denied_request(lambda: blocked.delete(mode_key("web", "u9")))  # only admins unblock
        await webhook.refused("publish", f"$KV.{BLOCKED_USERS_BUCKET}.{mode_key('web', 'u9')}")
    async with member(bus, "tracking") as tracking:
        with pytest.raises(KeyNotFoundError):
            await (await tracking.js().key_value(MODE_BUCKET)).get(mode_key("messenger", "p1"))


async def test_admin_api_cannot_speak_as_a_customer(bus: NatsServer) -> None:
    async with member(bus, "admin-api") as admin:
        denied = admin.js(timeout=DENIED_WAIT_S)
        await _denied_request(lambda: denied.publish(Subjects.incoming("messenger", "p1"), b"forged"))
        await admin.refused("publish", Subjects.incoming("messenger", "p1"))
        await _denied_request(lambda: denied.publish(Subjects.delivery("messenger", "p1"), b"forged read"))
        await admin.refused("publish", Subjects.delivery("messenger", "p1"))
        modes = await denied.key_value(MODE_BUCKET)
        await _denied_request(lambda: modes.put(mode_key("web", "u1"), b"closed"))
        await admin.refused("publish", f"$KV.{MODE_BUCKET}.{mode_key('web', 'u1')}")
    async with member(bus, "tracking") as tracking:
        assert (await tracking.js().stream_info(EVENTS_STREAM)).state.messages == 0


async def test_tracking_cannot_speak_as_a_customer_or_the_staff(bus: NatsServer) -> None:
    async with member(bus, "tracking") as tracking:
        denied = tracking.js(timeout=DENIED_WAIT_S)
        await _denied_request(lambda: denied.publish(Subjects.incoming("web", "u1"), b"forged"))
        await tracking.refused("publish", Subjects.incoming("web", "u1"))
        await tracking.nc.publish(Subjects.staff_typing("messenger", "p1"), b"typing")
        await tracking.refused("publish", Subjects.staff_typing("messenger", "p1"))


async def _cannot_read(who: Member, stream: str, subject: str) -> None:
    """Neither a message by sequence, nor the last of a subject, nor a consumer of its own."""
    denied = who.js(timeout=DENIED_WAIT_S)
    await _denied_request(lambda: denied.get_msg(stream, seq=1))
    await who.refused("publish", f"$JS.API.STREAM.MSG.GET.{stream}")
    await _denied_request(lambda: denied.get_last_msg(stream, subject, direct=True))
    await who.refused("publish", f"$JS.API.DIRECT.GET.{stream}.", prefix=True)
    peek = ConsumerConfig(durable_name="peek", filter_subject=subject)
    await _denied_request(lambda: denied.add_consumer(stream, peek))
    await who.refused("publish", f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.peek")


async def test_each_service_reads_only_the_streams_its_job_needs(bus: NatsServer) -> None:
    async with member(bus, "admin-api") as admin:
        for name in (SAVED_REPLIES_BUCKET, STAFF_ACCESS_BUCKET):
            await (await kv_bucket(admin.js(), name)).put("bob", b"the staff's")
        await admin.js().publish(Subjects.outgoing("web", "u1"), b"staff reply")
    async with member(bus, "tracking") as tracking:
        await tracking.js().publish("dlq.events", b"a dead letter")
        await _cannot_read(tracking, f"KV_{SAVED_REPLIES_BUCKET}", f"$KV.{SAVED_REPLIES_BUCKET}.bob")
    async with member(bus, "webhook") as webhook:  # the public door: nothing of the staff's
        await _cannot_read(webhook, DLQ_STREAM, "dlq.events")
        await _cannot_read(webhook, f"KV_{STAFF_ACCESS_BUCKET}", f"$KV.{STAFF_ACCESS_BUCKET}.bob")
        await _cannot_read(webhook, f"KV_{SAVED_REPLIES_BUCKET}", f"$KV.{SAVED_REPLIES_BUCKET}.bob")
    async with member(bus, "admin-api") as admin:  # customers' raw events are not the panel's
        await _cannot_read(admin, EVENTS_STREAM, Subjects.outgoing("web", "u1"))
    async with member(bus, "tracking") as tracking:
        consumers = [c.name for s in (EVENTS_STREAM, DLQ_STREAM) for c in await tracking.js().consumers_info(s)]
        assert "peek" not in consumers


@pytest.mark.parametrize(("reader", "stream", "subject", "forger"), [
    ("tracking", EVENTS_STREAM, Subjects.incoming("web", "u1"), "admin-api"),
    ("webhook", UPDATES_STREAM, "updates.message.web.u1", "tracking"),
])
async def test_who_cannot_read_a_stream_cannot_ack_its_messages(bus: NatsServer, reader: str, stream: str,
                                                                 subject: str, forger: str) -> None:
    """A forged ack would make the reader skip a message it never handled (tracking: never stored)."""
    async with member(bus, "webhook") as webhook, member(bus, "tracking") as tracking:
        await {EVENTS_STREAM: webhook, UPDATES_STREAM: tracking}[stream].js().publish(subject, b"words")
    async with member(bus, reader) as owner, member(bus, forger) as other:
        js = owner.js()
        # The bus fixture starts from an empty JetStream: the one message is the one published above.
        await js.add_consumer(stream, ConsumerConfig(durable_name="acked", ack_policy=AckPolicy.EXPLICIT, ack_wait=60))
        [msg] = await (await js.pull_subscribe_bind(durable="acked", stream=stream)).fetch(1, timeout=5)
        await other.nc.publish(msg.reply, b"+ACK")
        await other.refused("publish", msg.reply)
        assert (await js.consumer_info(stream, "acked")).num_ack_pending == 1
        await msg.ack_sync()  # its reader's own ack goes through
        assert (await js.consumer_info(stream, "acked")).num_ack_pending == 0


@pytest.mark.parametrize("user", ["webhook", "admin-api"])
async def test_only_tracking_changes_or_purges_a_stream(bus: NatsServer, user: str) -> None:
    async with member(bus, "webhook") as webhook:
        await webhook.js().publish(Subjects.incoming("web", "u1"), b"kept")
    async with member(bus, user) as other:
        denied = other.js(timeout=DENIED_WAIT_S)
        await _denied_request(lambda: denied.purge_stream(EVENTS_STREAM))
        await other.refused("publish", f"$JS.API.STREAM.PURGE.{EVENTS_STREAM}")
        shorter = stream_configs()[0]
        shorter.max_age = 1.0
        await _denied_request(lambda: denied.update_stream(shorter))
        await other.refused("publish", f"$JS.API.STREAM.UPDATE.{EVENTS_STREAM}")
    async with member(bus, "tracking") as tracking:
        info = await tracking.js().stream_info(EVENTS_STREAM)
        assert (info.state.messages, info.config.max_age) == (1, stream_configs()[0].max_age)


@pytest.mark.parametrize("bucket", [KNOWLEDGE_BUCKET, SOLD_OUT_BUCKET, CLOSED_DAYS_BUCKET, MENU_PRICES_BUCKET])
async def test_the_agent_reads_what_staff_set_in_the_panel_and_nothing_else(bus: NatsServer, bucket: str) -> None:
    """The answers staff teach, the dishes they mark sold out, the prices they change, the days they close:
    read by the agent, written by admin-api."""
    async with member(bus, "admin-api") as admin, member(bus, "agent") as agent:
        written = await kv_bucket(admin.js(), bucket)
        await written.put("durian", b'{"question_en": "Durian?", "answer_en": "June"}')
        read = await kv_bucket(agent.js(), bucket)
        assert (await read.get("durian")).value.startswith(b'{"question_en"')
        watch = await read.watch(">")
        assert (await watch.updates(timeout=10)).key == "durian"
        await watch.stop()
        assert not [e for e in agent.errors if "permissions violation" in e.lower()], agent.errors

        denied = agent.js(timeout=DENIED_WAIT_S)
        await _denied_request(lambda: read.put("durian", b'{"answer_en": "free cake"}'))
        await agent.refused("publish", f"$KV.{bucket}.durian")
        await agent.nc.publish(Subjects.incoming("web", "u1"), b"spoofed")
        await agent.refused("publish", "events.in.web.u1")
        await _denied_request(lambda: denied.get_msg(EVENTS_STREAM, seq=1))
        await _denied_request(lambda: denied.key_value(MODE_BUCKET))
        await agent.nc.subscribe("updates.>")
        await agent.refused("subscription", "updates.>")
        assert (await written.get("durian")).value.endswith(b'"June"}')


@pytest.mark.parametrize("url", ["nats://{host}", "nats://agent:guess@{host}", "nats://webhook:guess@{host}"])
async def test_strangers_and_wrong_passwords_have_no_user(bus: NatsServer, url: str) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(url.format(host=f"127.0.0.1:{bus.port}"), allow_reconnect=False,
                           max_reconnect_attempts=0, connect_timeout=5)

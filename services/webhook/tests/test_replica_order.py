"""Two worker replicas share the partition durables: each user's messages are still answered and sent in order."""

from __future__ import annotations

import httpx

from pentagon.common.bus import Subjects
from pentagon.common.proto import events_pb2 as pb
from pentagon.devtools.embedded import free_port

USERS = [f"70{i:02d}" for i in range(12)]
ROUNDS = 6
QUESTIONS = ["Do you have iced latte?", "What time do you open?", "Is there wifi?",
             "How much is a croissant?", "Can I book a table?", "Do you have vegan food?"]


def _replies_total(metrics: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("webhook_replies_total{"))


async def test_two_worker_replicas_answer_and_send_each_users_messages_in_order(
        services, nats_url, graph, bus, messenger, wait_for, start_webhook, start_workers) -> None:  # type: ignore[no-untyped-def]
    gport, hport = free_port(), free_port()
    services.start("pentagon.agent", {"NATS_URL": nats_url, "AGENT_ADDR": f"127.0.0.1:{gport}",
                                      "AGENT_HTTP_ADDR": f"127.0.0.1:{hport}", "OPENAI_API_KEY": ""},
                   ready_url=f"http://127.0.0.1:{hport}/readyz", name="agent")
    common = {"AGENT_ADDR": f"127.0.0.1:{gport}", "AGENT_TIMEOUT_MS": "5000", "TYPING_DELAY_MS": "0"}
    worker_urls = [start_workers(graph, **common) for _ in range(2)]
    hook = start_webhook(graph, REPLY_WORKER_ENABLED="false", SENDER_ENABLED="false", **common)
    # Each POST carries one message of every user: a user's messages arrive back to back.
    for r in range(ROUNDS):
        events = [messenger.text(u, f"m_{u}_{r}", QUESTIONS[r]) for u in USERS]
        assert (await hook.post_signed(messenger.page(*events))).status_code == 200

    async def all_sent():
        sent = await bus.messages("events.delivery.messenger.>")
        return sent if len(sent) >= len(USERS) * ROUNDS else None

    await wait_for(all_sent, timeout=60)
    for user in USERS:
        asked = [f"m:m_{user}_{r}" for r in range(ROUNDS)]
        replies = await bus.events(Subjects.outgoing("messenger", user))
        assert [e.reply_to_event_id for e in replies] == asked, user
        sent = [d for d in await bus.events(Subjects.delivery("messenger", user), pb.DeliveryEvent)
                if d.state == pb.DELIVERY_SENT]
        assert [d.message_event_id for d in sent] == [f"r:{a}" for a in asked], user
    recipients = [r["body"]["recipient"]["id"] for r in await graph.requests("message")]
    assert sorted(recipients) == sorted(USERS * ROUNDS)

    async with httpx.AsyncClient() as client:
        done = [_replies_total((await client.get(f"{url}/metrics")).text) for url in worker_urls]
    # Both replicas took part: the order above held across them, not inside one process.
    assert all(n > 0 for n in done) and sum(done) == len(USERS) * ROUNDS, done

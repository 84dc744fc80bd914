"""How tracking groups events into batches: it stops waiting at the first quiet gap, yet a burst is one batch."""

from __future__ import annotations

import httpx

from pentagon.devtools.metrics import sample_sum
from tracking_support import count, message_event, publish_all, wait_for

# Far longer than the waits below: were the quiet gap ignored, nothing would be stored in time.
LONG_WAIT_MS = "60000"


async def _batches(base: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{base}/metrics")).text
    batches = sample_sum(text, "tracking_batches_total")
    assert batches is not None, "tracking_batches_total is not exported"
    return batches


async def test_a_lone_event_is_committed_at_the_first_quiet_gap(start_tracking, js, migrated_url: str) -> None:
    start_tracking(TRACKING_BATCH_WAIT_MS=LONG_WAIT_MS, TRACKING_BATCH_GAP_MS="5", TRACKING_WORKERS="1")
    await publish_all(js, [message_event("lone1")])
    # 20 s is a hang guard, a third of the batch's maximum wait.
    assert await wait_for(lambda: count(migrated_url, "SELECT count(*) FROM messages WHERE event_id = 'lone1'"),
                          timeout=20)


async def test_a_burst_is_committed_in_few_batches(start_tracking, js, migrated_url: str) -> None:
    _, base = start_tracking(TRACKING_BATCH_GAP_MS="200", TRACKING_WORKERS="1")
    before = await _batches(base)
    await publish_all(js, [message_event(f"burst{i}", user=f"u{i % 40}") for i in range(400)])
    await wait_for(lambda: count(migrated_url, "SELECT count(*) = 400 FROM messages WHERE event_id LIKE 'burst%'"))
    assert await _batches(base) - before <= 20, "a burst should be grouped, not committed event by event"

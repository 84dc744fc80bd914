"""Idempotency markers when NATS goes away between doing the work and writing the marker.

A reply already sent to Messenger must not be sent again by the redelivery that follows a
NATS restart: the process remembers its own markers even when the KV write failed.
"""

from __future__ import annotations

import nats
import pytest

from pentagon.devtools.embedded import NatsServer
from pentagon.webhook.runtime import Marks


async def test_a_marker_whose_write_failed_is_still_remembered_by_this_process(tmp_path) -> None:
    server = NatsServer(tmp_path / "nats", tmp_path / "nats.log").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=0, allow_reconnect=False)
    try:
        js = nc.jetstream()
        marks = Marks(await js.create_key_value(bucket="marks_test"))
        await marks.put("sent", "r:m:1#0", "m_mid_1")
        assert (marks.recent("sent", "r:m:1#0"), await marks.get("sent", "r:m:1#0")) == ("m_mid_1", "m_mid_1")

        server.stop()  # NATS gone: the next marker cannot be written
        with pytest.raises(Exception):
            await marks.put("sent", "r:m:2#0", "m_mid_2")
        assert marks.recent("sent", "r:m:2#0") == "m_mid_2"
    finally:
        await nc.close()
        server.stop()  # stopping twice is harmless; leaving it running after a failure is not
        server.stop()

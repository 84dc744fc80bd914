"""Many core-NATS publishes in one buffered write.

nats-py's ``publish`` costs several microseconds of Python per call; for the
thousands of acks and updates of one batch that was a large share of tracking's
CPU. These frames are the plain NATS protocol (PUB / HPUB), handed to the
client's own outgoing buffer, so ordering, flushing and reconnect buffering stay
the client's. Falls back to ``publish`` per message if the client lacks it.
"""

from __future__ import annotations

from typing import Any

_NEWLINES = str.maketrans({"\r": " ", "\n": " "})


def pub_frame(subject: str, payload: bytes, msg_id: str | None = None) -> bytes:
    """One PUB (or HPUB with a Nats-Msg-Id) frame; subject must be a valid NATS subject."""
    if msg_id is None:
        return b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload)
    # Ids may come from event ids: a CR/LF inside would end the header early.
    header = b"NATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n" % msg_id.strip().translate(_NEWLINES).encode()
    return b"HPUB %s %d %d\r\n%s%s\r\n" % (subject.encode(), len(header), len(header) + len(payload), header, payload)


def ack_frame(reply: str) -> bytes:
    return b"PUB %s 4\r\n+ACK\r\n" % reply.encode()


async def send_frames(nc: Any, frames: list[bytes]) -> None:
    if not frames:
        return
    send = getattr(nc, "_send_command", None)
    flush = getattr(nc, "_flush_pending", None)
    if send is None or flush is None:  # pragma: no cover - another nats-py: the slow, public way
        for frame in frames:
            await _publish_frame(nc, frame)
        return
    await send(b"".join(frames))
    await flush()


async def _publish_frame(nc: Any, frame: bytes) -> None:  # pragma: no cover - fallback only
    head, _, rest = frame.partition(b"\r\n")
    parts = head.split()
    if parts[0] == b"PUB":
        await nc.publish(parts[1].decode(), rest[:-2])
        return
    header_len = int(parts[2])
    header, payload = rest[:header_len], rest[header_len:-2]
    msg_id = header.split(b"\r\n")[1].split(b": ", 1)[1].decode()
    await nc.publish(parts[1].decode(), payload, headers={"Nats-Msg-Id": msg_id})

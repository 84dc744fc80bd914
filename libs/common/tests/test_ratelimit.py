"""Token buckets: local, shared through a real NATS KV bucket, and the fall back when NATS is gone."""

from __future__ import annotations

import ipaddress

import nats
import pytest
from nats.js.errors import NoKeysError

from pentagon.common.bus import rate_limits_bucket
from pentagon.common.ratelimit import SharedTokenBucket, TokenBucket, parse_networks


def test_token_bucket() -> None:
    bucket = TokenBucket(per_minute=1, burst=2)
    assert bucket.take("a") == 0 and bucket.take("a") == 0
    assert bucket.take("a") > 0 and bucket.take("b") == 0


def test_wait_tells_without_taking() -> None:
    bucket = TokenBucket(per_minute=1, burst=1)
    assert [bucket.wait("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a") == 0
    assert 0 < bucket.wait("a") <= 60 and bucket.wait("b") == 0


def test_trusted_networks_parse() -> None:
    assert parse_networks(" 127.0.0.1/32, ::1/128,,10.1.2.3/8 ") == [
        ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"), ipaddress.ip_network("10.0.0.0/8")]
    assert parse_networks("") == []
    with pytest.raises(ValueError):
        parse_networks("not-a-network")


async def test_shared_bucket_is_one_count_for_every_replica(nats_url) -> None:
    nc = await nats.connect(nats_url)
    try:
        kv = await rate_limits_bucket(nc.jetstream())
        replicas = [SharedTokenBucket(kv, "t", per_minute=1, burst=3) for _ in range(2)]
        assert await replicas[1].wait("u1") == 0
        assert [await replicas[i % 2].take("u1") for i in range(3)] == [0.0, 0.0, 0.0]
        assert await replicas[0].wait("u1") > 0 and await replicas[1].take("u1") > 0
        assert await replicas[1].wait("u2") == 0  # another key
        assert await replicas[0].wait("u1") > 0  # waiting took nothing, and refusals cost nothing either
    finally:
        await nc.close()


async def test_a_mirrored_bucket_sees_other_replicas_takes_without_reading_the_bucket(nats_url) -> None:
    import asyncio

    nc = await nats.connect(nats_url)
    try:
        kv = await rate_limits_bucket(nc.jetstream())
        mirrored = SharedTokenBucket(kv, "m", per_minute=1, burst=2)
        mirrored.mirror()
        other = SharedTokenBucket(kv, "m", per_minute=1, burst=2)
        for _ in range(100):
            if mirrored._mirror_live:  # noqa: SLF001 - the watch has replayed the (empty) bucket
                break
            await asyncio.sleep(0.02)
        assert await mirrored.wait("addr") == 0
        assert [await other.take("addr") for _ in range(2)] == [0.0, 0.0]  # another replica used the burst

        async def refused() -> bool:
            return await mirrored.wait("addr") > 0

        for _ in range(100):
            if await refused():
                break
            await asyncio.sleep(0.02)
        assert await refused()
        reads = kv.get
        kv.get = None  # from now on any read of the bucket would fail: answers come from the copy
        try:
            assert await mirrored.wait("addr") > 0 and await mirrored.wait("another") == 0
        finally:
            kv.get = reads
        await mirrored.close()
    finally:
        await nc.close()


def test_the_mirror_forgets_refilled_entries_instead_of_growing_for_ever() -> None:
    import time

    bucket = SharedTokenBucket(None, "p", per_minute=60, burst=2)  # type: ignore[arg-type] - no reads here
    bucket.MIRROR_MAX_KEYS = bucket._prune_at = 4  # noqa: SLF001
    long_ago = time.time() - 3600
    for i in range(4):
        bucket._mirror_apply(f"p.old{i}", f"0.0 {long_ago:.6f}".encode())  # noqa: SLF001 - refilled since
    bucket._mirror_apply("p.fresh", f"0.0 {time.time():.6f}".encode())  # noqa: SLF001 - just emptied
    assert set(bucket._mirror) == {"p.fresh"}  # noqa: SLF001


async def test_without_nats_each_replica_still_limits_on_its_own(nats_url) -> None:
    nc = await nats.connect(nats_url)
    kv = await nc.jetstream().create_key_value(bucket="rate_limits_test", ttl=60)
    bucket = SharedTokenBucket(kv, "session", per_minute=1, burst=2)
    assert [await bucket.take("u1") for _ in range(2)] == [0.0, 0.0]
    assert await bucket.take("u1") > 0  # shared state: refused
    await nc.close()
    # NATS gone: this replica's own bucket takes over (its own count starts full), never a crash or a 5xx.
    assert await bucket.wait("u1") == 0
    assert [await bucket.take("u1") for _ in range(2)] == [0.0, 0.0]
    assert await bucket.take("u1") > 0 and await bucket.wait("u1") > 0


async def test_a_disconnected_client_goes_local_without_asking_nats(nats_url) -> None:
    nc = await nats.connect(nats_url)
    try:
        kv = await rate_limits_bucket(nc.jetstream())
        bucket = SharedTokenBucket(kv, "t", per_minute=1, burst=1, connected=lambda: False)
        assert await bucket.take("u1") == 0 and await bucket.take("u1") > 0
        with pytest.raises(NoKeysError):  # nothing was written to the shared bucket
            await kv.keys()
    finally:
        await nc.close()

"""The docker compose deployment, for real: built, started, driven through the
gateway on 127.0.0.1, scaled, loaded, one tracking replica killed, torn down.

The tests run in file order on one session deployment (see conftest.py); each
states one property an operator relies on.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import websockets

from typing import TYPE_CHECKING

from pentagon.devtools.embedded import NATS_PASSWORD_VARS, NATS_USER_OF

if TYPE_CHECKING:
    from conftest import Deployment  # type: ignore[import-not-found]

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]

APP_SERVICES = ("tracking", "agent", "webhook", "webhook-worker", "admin-api", "chat-ui")
LOAD_MESSAGES = 5000
LOAD_USERS = 100
EVENTS_PER_POST = 5
LOAD_CONCURRENCY = 24


async def _until(fetch, timeout: float, interval: float = 0.5, what: str = "condition", done=bool):
    """Poll until done(fetch()) (tests assert outcomes, never timings); the last value is in the failure."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await fetch()
        if done(last):
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def _config(docker_host, env_file, *files: str) -> subprocess.CompletedProcess[str]:
    argv = [*docker_host.compose, "--env-file", str(env_file), "-p", "pentagon-config-check"]
    for name in files:
        argv += ["-f", name]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "MESSENGER_", "ADMIN_", "CHAT_"))}
    return subprocess.run([*argv, "config", "--format", "json"], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=60)


def test_production_files_need_the_secrets_and_supabase_drops_postgres(docker_host, tmp_path: Path) -> None:
    env_file = tmp_path / "prod.env"
    required = {"MESSENGER_APP_SECRET": "s", "MESSENGER_VERIFY_TOKEN": "v", "CHAT_SESSION_SECRET": "c",
                "ADMIN_TOKENS": "a:admin:t", **{var: f"pw-{user}" for user, var in NATS_PASSWORD_VARS.items()}}
    optional = {"POSTGRES_PASSWORD": "p", "DATABASE_URL": "postgresql://u:p@db.example.supabase.co:5432/postgres"}
    # Compose names one missing variable per run, in no fixed order: leave out one at a time.
    for left_out in required:
        env_file.write_text("".join(f"{k}={v}\n" for k, v in {**optional, **required}.items() if k != left_out))
        missing = _config(docker_host, env_file, "docker-compose.yml")
        assert missing.returncode != 0 and left_out in missing.stderr, (left_out, missing.stderr)
    env_file.write_text("".join(f"{k}={v}\n" for k, v in {**optional, **required}.items()))
    full = _config(docker_host, env_file, "docker-compose.yml")
    assert full.returncode == 0, full.stderr
    services = json.loads(full.stdout)["services"]
    assert {"nats", "postgres", "gateway", *APP_SERVICES} == set(services)
    assert [s for s, spec in services.items() if spec.get("ports")] == ["gateway"]
    assert not any("container_name" in spec for spec in services.values())
    # Each service on the bus as its own user (the chat UI not at all), and no
    # other user's password in its environment; nats-server alone holds them all.
    for service, spec in services.items():
        if service == "nats":
            continue
        env = spec.get("environment") or {}
        user = NATS_USER_OF.get(service)
        assert env.get("NATS_URL") == (f"nats://{user}:pw-{user}@nats:4222" if user else None), service
        assert not [u for u in NATS_PASSWORD_VARS if u != user and f"pw-{u}" in json.dumps(env)], service
    supabase = _config(docker_host, env_file, "docker-compose.yml", "deploy/compose/docker-compose.supabase.yml")
    assert supabase.returncode == 0, supabase.stderr
    services = json.loads(supabase.stdout)["services"]
    assert "postgres" not in services
    assert "postgres" not in services["tracking"]["depends_on"]
    assert services["tracking"]["environment"]["DATABASE_URL"].startswith("postgresql://u:p@db.example.supabase.co")


def test_every_service_is_healthy_non_root_and_only_the_gateway_publishes(deployment: Deployment) -> None:
    containers = {c.labels["com.docker.compose.service"]: c for c in deployment.containers()}
    assert set(APP_SERVICES) | {"nats", "postgres", "gateway"} <= set(containers), containers.keys()
    for name in APP_SERVICES:
        container = containers[name]
        container.reload()
        assert container.attrs["State"]["Health"]["Status"] == "healthy", name
        assert container.attrs["Config"]["User"] not in ("", "0", "root"), f"{name} runs as root"
        assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped", name
    for name, container in containers.items():
        bindings = {port: b for port, b in (container.attrs["NetworkSettings"]["Ports"] or {}).items() if b}
        if name == "gateway":
            assert bindings and all(b["HostIp"] == "127.0.0.1" for bs in bindings.values() for b in bs), bindings
        else:
            assert not bindings, f"{name} publishes {bindings}"


def test_the_bus_refuses_strangers_and_fences_each_service(deployment: Deployment) -> None:
    """Whatever else runs on the Docker network (the chat UI, a compromised neighbour) cannot use NATS,
    and a service's own user may not do another's job (deploy/nats/users.conf)."""
    attempt = ("import asyncio, os, sys, nats\n"
               "async def main(url, subject):\n"
               "    refused = asyncio.Event()\n"
               "    async def on_error(exc):\n"
               "        if 'permissions violation' in str(exc).lower():\n"
               "            refused.set()\n"
               "    nc = await nats.connect(url, error_cb=on_error, allow_reconnect=False,\n"
               "                            max_reconnect_attempts=0, connect_timeout=5)\n"
               "    if subject:\n"
               "        await nc.publish(subject, b'{}')\n"
               "        await nc.flush()\n"
               "        await asyncio.wait_for(refused.wait(), 30)\n"
               "        print('refused')\n"
               "    await nc.close()\n"
               "try:\n"
               "    asyncio.run(main(os.environ['NATS_URL'] if sys.argv[1] == 'own' else sys.argv[1], sys.argv[2]))\n"
               "except Exception as exc:\n"
               "    print(type(exc).__name__, exc)\n"
               "    sys.exit(3)\n"
               "print('connected')\n")
    tracking = deployment.containers("tracking")[0]
    anonymous = tracking.exec_run(["python", "-c", attempt, "nats://nats:4222", ""])
    assert anonymous.exit_code == 3 and b"uthorization" in anonymous.output, anonymous.output
    guessed = tracking.exec_run(["python", "-c", attempt, "nats://pentagon:guess@nats:4222", ""])
    assert guessed.exit_code == 3 and b"uthorization" in guessed.output, guessed.output
    member = tracking.exec_run(["python", "-c", attempt, f"nats://pentagon:{deployment.nats_password}@nats:4222", ""])
    assert (member.exit_code, member.output.strip()) == (0, b"connected")
    # The webhook container's own user cannot give tracking a command.
    fenced = deployment.containers("webhook")[0].exec_run(["python", "-c", attempt, "own", "tracking.cmd.close"])
    assert (fenced.exit_code, fenced.output.split()) == (0, [b"refused", b"connected"]), fenced.output


def test_no_secret_is_baked_into_an_image(deployment: Deployment) -> None:
    import docker

    client = docker.from_env()
    secrets = {deployment.app_secret, deployment.verify_token, deployment.admin_token, deployment.nats_password}
    for container in deployment.containers():
        image = client.images.get(container.attrs["Image"])
        baked = json.dumps(image.attrs["Config"].get("Env") or []) + json.dumps(image.history())
        assert not any(s in baked for s in secrets), container.name
    client.close()


async def test_gateway_routes_to_every_service(deployment: Deployment) -> None:
    async with httpx.AsyncClient(base_url=deployment.gateway_url, timeout=10) as http:
        verify = await http.get("/webhook", params={"hub.mode": "subscribe", "hub.challenge": "4242",
                                                    "hub.verify_token": deployment.verify_token})
        assert (verify.status_code, verify.text) == (200, "4242")
        wrong = await http.get("/webhook", params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                                   "hub.challenge": "4242"})
        assert wrong.status_code == 403
        me = await http.get("/admin/me", headers=deployment.admin_headers())
        assert me.status_code == 200 and me.json()["user"]["role"] == "admin"
        assert (await http.get("/admin/me")).status_code == 401
        assert (await http.get("/chat/_stcore/health")).status_code == 200
        # admin-api reaches the agent over the compose network ("Ask the bot" in the panel).
        tried = await http.post("/admin/agent/try", headers=deployment.admin_headers(),
                                json={"text": "Do you have free Wi-Fi?"})
        assert tried.status_code == 200, tried.text
        assert tried.json()["reply"]["sources"][0]["id"] == "faq:1"
        menu = await http.get("/admin/menu", headers=deployment.admin_headers())
        assert menu.status_code == 200 and menu.json()["count"] > 0, menu.text
        # A closed day goes into the bucket as admin-api's NATS user may (deploy/nats/users.conf), and
        # the agent's file days come over gRPC; opened again so the deployment keeps its hours.
        day = (datetime.now(timezone.utc) + timedelta(days=300)).date().isoformat()
        closed = await http.put(f"/admin/closed-days/{day}", headers=deployment.admin_headers(), json={})
        assert closed.status_code == 200, closed.text
        listed = (await http.get("/admin/closed-days", headers=deployment.admin_headers())).json()
        assert day in [d["date"] for d in listed["days"]] and listed["file_days"] is not None, listed
        assert (await http.delete(f"/admin/closed-days/{day}", headers=deployment.admin_headers())).status_code == 200


async def test_bad_signature_is_refused_and_stores_nothing(deployment: Deployment) -> None:
    psid = f"psid-forged-{uuid.uuid4().hex[:8]}"
    body, headers = deployment.signed_message(psid, f"m_{uuid.uuid4().hex}", "hi")
    headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    async with httpx.AsyncClient(base_url=deployment.gateway_url, timeout=10) as http:
        response = await http.post("/webhook", content=body, headers=headers)
    assert response.status_code == 403
    assert deployment.psql(f"SELECT count(*) FROM conversations WHERE user_id = '{psid}'") == "0"


async def _conversation_of(http: httpx.AsyncClient, dep: Deployment, psid: str) -> dict | None:
    response = await http.get("/admin/conversations", params={"platform": "messenger", "limit": 200},
                              headers=dep.admin_headers())
    response.raise_for_status()
    return next((c for c in response.json()["conversations"] if c["user_id"] == psid), None)


async def _ws_frames(dep: Deployment, frames: list[dict], connected: asyncio.Event) -> None:
    ws_url = dep.gateway_url.replace("http://", "ws://") + "/admin/ws"
    async with websockets.connect(ws_url, additional_headers=dep.admin_headers(), open_timeout=10) as ws:
        connected.set()
        async for raw in ws:
            frames.append(json.loads(raw))


async def test_messenger_message_round_trip_with_live_push(deployment: Deployment) -> None:
    psid = f"psid-{uuid.uuid4().hex[:12]}"
    mid = f"m_{uuid.uuid4().hex}"
    frames: list[dict] = []
    connected = asyncio.Event()
    listener = asyncio.create_task(_ws_frames(deployment, frames, connected))
    try:
        await asyncio.wait_for(connected.wait(), 15)
        body, headers = deployment.signed_message(psid, mid, "What time do you open? ☕ ဖွင့်ချိန်")
        async with httpx.AsyncClient(base_url=deployment.gateway_url, timeout=15) as http:
            response = await http.post("/webhook", content=body, headers=headers)
            assert response.status_code == 200, response.text

            async def pushed():
                return next((f for f in frames if f.get("type") == "message.created"
                             and f["data"].get("event_id") == f"m:{mid}"), None)

            frame = await _until(pushed, 60, what="a message.created WebSocket frame")
            assert frame["data"]["sender_type"] == "user" and frame["conversation_id"]

            async def replied():
                sent = httpx.get(f"{deployment.graph_url}/requests", params={"kind": "message"}, timeout=5).json()
                return [r for r in sent["requests"] if (r["body"] or {}).get("recipient", {}).get("id") == psid]

            sends = await _until(replied, 90, what="the bot reply at the Graph API stand-in")
            assert sends[0]["access_token"] == "compose-test-page-token"
            assert sends[0]["body"]["message"]["text"].strip()

            conversation = await _until(lambda: _conversation_of(http, deployment, psid), 30,
                                        what="the conversation in the admin API")
            assert conversation["id"] == frame["conversation_id"]

            async def both_messages():
                detail = await http.get(f"/admin/conversations/{conversation['id']}",
                                        headers=deployment.admin_headers())
                kinds = [m["sender_type"] for m in detail.json()["messages"]]
                return kinds if kinds.count("user") == 1 and kinds.count("bot") == 1 else None

            kinds = await _until(both_messages, 60, what="user message and bot reply in the admin API")
            assert kinds == ["user", "bot"]
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)


async def _post_load(dep: Deployment, batches: list[list[dict]], after_posts: int, on_progress) -> dict[int, int]:
    """POST every batch through the gateway; a non-200 is retried, as Messenger retries it."""
    statuses: dict[int, int] = {}
    done = 0
    queue: asyncio.Queue[list[dict]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal done
        while not queue.empty():
            body, headers = dep.signed(dep.messenger_payload(queue.get_nowait()))
            for _attempt in range(30):
                try:
                    response = await http.post("/webhook", content=body, headers=headers)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 200:
                        break
                except httpx.HTTPError:
                    statuses[-1] = statuses.get(-1, 0) + 1
                await asyncio.sleep(1)
            else:
                raise AssertionError("a webhook POST never succeeded")
            done += 1
            if done == after_posts:
                on_progress()

    async with httpx.AsyncClient(base_url=dep.gateway_url, timeout=30) as http:
        await asyncio.gather(*(worker(http) for _ in range(LOAD_CONCURRENCY)))
    return statuses


def _running(dep: Deployment, service: str) -> list:
    return [c for c in dep.containers(service) if c.status == "running"]


def test_scale_out_adds_replicas_without_touching_the_rest(deployment: Deployment) -> None:
    before = {c.name: c.id for c in deployment.containers()}
    deployment.scale_out()
    assert [len(_running(deployment, s)) for s in ("tracking", "webhook", "admin-api")] == [3, 2, 2]
    after = {c.name: c.id for c in deployment.containers()}
    assert all(after.get(name) == cid for name, cid in before.items()), "scaling recreated a running container"


async def test_every_admin_api_replica_pushes_every_update(deployment: Deployment) -> None:
    deployment.scale_out()
    replicas = _running(deployment, "admin-api")
    listeners, inboxes = [], []
    for _ in range(4):
        frames: list[dict] = []
        connected = asyncio.Event()
        listeners.append(asyncio.create_task(_ws_frames(deployment, frames, connected)))
        inboxes.append(frames)
        await asyncio.wait_for(connected.wait(), 15)
    try:
        # The gateway spread the sockets (round robin): every replica holds at least one.
        clients = [deployment.metric(c, 8002, "admin_ws_clients") for c in replicas]
        assert all(n >= 1 for n in clients), clients
        psid, mid = f"psid-fanout-{uuid.uuid4().hex[:8]}", f"m_{uuid.uuid4().hex}"
        body, headers = deployment.signed_message(psid, mid, "hello")
        async with httpx.AsyncClient(base_url=deployment.gateway_url, timeout=15) as http:
            assert (await http.post("/webhook", content=body, headers=headers)).status_code == 200

        async def everyone_got_it():
            return all(any(f.get("data", {}).get("event_id") == f"m:{mid}" for f in inbox) for inbox in inboxes)

        await _until(everyone_got_it, 60, what="the message.created frame on every WebSocket")
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)


async def test_scaled_out_load_survives_a_killed_tracking_replica(deployment: Deployment) -> None:
    deployment.scale_out()
    webhooks = _running(deployment, "webhook")
    ok_before = [deployment.metric(c, 8001, "webhook_requests_total", outcome="ok") for c in webhooks]
    run = uuid.uuid4().hex[:8]
    events = [deployment.messenger_event(f"load-{run}-{i % LOAD_USERS}", f"m_load_{run}_{i}", f"order #{i} please",
                                         timestamp_ms=1_767_000_000_000 + i)
              for i in range(LOAD_MESSAGES)]
    batches = [events[i:i + EVENTS_PER_POST] for i in range(0, len(events), EVENTS_PER_POST)]
    victim = _running(deployment, "tracking")[0]
    started = time.monotonic()
    statuses = await _post_load(deployment, batches, after_posts=len(batches) // 3, on_progress=victim.kill)
    accepted_s = time.monotonic() - started
    victim.reload()
    assert victim.status != "running" or victim.attrs["RestartCount"] > 0, "the tracking replica was not killed"
    ok_after = [deployment.metric(c, 8001, "webhook_requests_total", outcome="ok") for c in webhooks]
    assert all(a > b for a, b in zip(ok_after, ok_before)), f"a webhook replica idle: {ok_before} -> {ok_after}"

    user_filter = f"c.user_id LIKE 'load-{run}-%'"
    count_sql = ("SELECT count(*), count(DISTINCT m.event_id) FROM messages m JOIN conversations c "
                 f"ON c.id = m.conversation_id WHERE {user_filter} AND m.sender_type = 'user'")

    async def stored() -> int:
        return int((await asyncio.to_thread(deployment.psql, count_sql)).split("|")[0])

    try:
        await _until(stored, 600, interval=2, what=f"{LOAD_MESSAGES} user messages in Postgres",
                     done=lambda n: n >= LOAD_MESSAGES)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{deployment.diagnostics()}") from None
    stored_s = time.monotonic() - started
    # Let redeliveries of what the killed replica held land, then check nothing was doubled.
    await asyncio.sleep(5)
    assert deployment.psql(count_sql) == f"{LOAD_MESSAGES}|{LOAD_MESSAGES}"
    counters = deployment.psql(f"SELECT count(*), sum(user_message_count) FROM conversations c WHERE {user_filter}")
    assert counters == f"{LOAD_USERS}|{LOAD_MESSAGES}"
    print(f"\n[compose] load: {LOAD_MESSAGES} messages in {len(batches)} POSTs accepted in {accepted_s:.1f}s "
          f"({LOAD_MESSAGES / accepted_s:.0f} msg/s), all stored after {stored_s:.1f}s; statuses {statuses}")


def test_down_leaves_no_container_network_or_volume(deployment: Deployment) -> None:
    import docker

    deployment.compose("down", "--volumes", "--remove-orphans", "--timeout", "10")
    client = docker.from_env()
    label = {"label": f"com.docker.compose.project={deployment.project}"}
    assert client.containers.list(all=True, filters=label) == []
    assert client.networks.list(filters=label) == []
    assert client.volumes.list(filters=label) == []
    client.close()

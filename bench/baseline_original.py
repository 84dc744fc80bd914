"""The baseline: the original integration's design (../shared/reference/original-integration.md).

One synchronous request per Messenger POST that, before answering, does each
step of the original "Facebook Messenger Flow" as its own database round trip:
get or create the conversation, save the user message, ask the agent (our same
offline agent, over gRPC), save the bot reply, update the conversation status,
send the reply to the Send API; only then 200.

Deliberately generous to the original: asyncpg with a connection pool straight
to Postgres (the original went through Supabase's REST API, one HTTPS call per
step) and the same offline agent. Run by bench/e2e_bench.py:

    DATABASE_URL=... AGENT_ADDR=... MESSENGER_GRAPH_URL=... MESSENGER_APP_SECRET=... \
    BASELINE_ADDR=127.0.0.1:8090 python bench/baseline_original.py
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from contextlib import asynccontextmanager

import asyncpg
import grpc
import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

from pentagon.common.proto import agent_pb2, agent_pb2_grpc

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id text NOT NULL, platform text NOT NULL,
  status text NOT NULL DEFAULT 'active', priority int NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  last_message_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS conversations_user ON conversations (user_id, platform, status);
CREATE TABLE IF NOT EXISTS messages (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, conversation_id bigint REFERENCES conversations(id),
  sender_type text NOT NULL, content text, timestamp timestamptz NOT NULL DEFAULT now(),
  confidence_score double precision, requires_human boolean NOT NULL DEFAULT false,
  human_replied boolean NOT NULL DEFAULT false, metadata jsonb NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS messages_conversation ON messages (conversation_id, timestamp);
"""


class Baseline:
    def __init__(self) -> None:
        self.secret = os.environ["MESSENGER_APP_SECRET"].encode()
        self.graph_url = os.environ["MESSENGER_GRAPH_URL"].rstrip("/")
        self.page_token = os.environ.get("MESSENGER_PAGE_TOKEN", "baseline")
        self.pool: asyncpg.Pool | None = None
        self.http: httpx.AsyncClient | None = None
        self.agent: agent_pb2_grpc.AgentServiceStub | None = None

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=4,
                                              max_size=int(os.environ.get("BASELINE_POOL", "20")))
        async with self.pool.acquire() as conn:
            await conn.execute(SCHEMA)
        self.http = httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=100))
        channel = grpc.aio.insecure_channel(os.environ["AGENT_ADDR"])
        self.agent = agent_pb2_grpc.AgentServiceStub(channel)

    async def conversation(self, user_id: str) -> int:
        """Step 1 of the original flow: get or create the conversation (two round trips when new)."""
        assert self.pool
        found = await self.pool.fetchval("SELECT id FROM conversations WHERE user_id = $1 AND platform = 'facebook' "
                                         "AND status = 'active' ORDER BY last_message_at DESC LIMIT 1", user_id)
        if found is not None:
            return found
        return await self.pool.fetchval("INSERT INTO conversations (user_id, platform) VALUES ($1, 'facebook') RETURNING id",
                                        user_id)

    async def handle_text(self, user_id: str, text: str, mid: str) -> None:
        assert self.pool and self.agent and self.http
        conversation_id = await self.conversation(user_id)
        await self.pool.execute("INSERT INTO messages (conversation_id, sender_type, content, metadata) "
                                "VALUES ($1, 'user', $2, $3)", conversation_id, text, json.dumps({"mid": mid}))
        answer = await self.agent.Reply(agent_pb2.ReplyRequest(conversation_id=conversation_id, platform="messenger",
                                                               user_id=user_id, text=text), timeout=10)
        await self.pool.execute("INSERT INTO messages (conversation_id, sender_type, content, confidence_score, "
                                "requires_human) VALUES ($1, 'bot', $2, $3, $4)", conversation_id, answer.text,
                                answer.confidence, answer.requires_human)
        await self.pool.execute("UPDATE conversations SET status = 'active', updated_at = now(), last_message_at = now() "
                                "WHERE id = $1", conversation_id)
        await self.http.post(f"{self.graph_url}/me/messages", params={"access_token": self.page_token},
                             json={"recipient": {"id": user_id}, "messaging_type": "RESPONSE",
                                   "message": {"text": answer.text[:2000]}})

    def verified(self, body: bytes, signature: str) -> bool:
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


baseline = Baseline()


@asynccontextmanager
async def lifespan(_: FastAPI):
    await baseline.start()
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/webhook")
async def webhook(request: Request) -> Response:
    body = await request.body()
    if not baseline.verified(body, request.headers.get("x-hub-signature-256", "")):
        return Response(status_code=403)
    payload = json.loads(body)
    for entry in payload.get("entry", []):
        for event in entry.get("messaging", []):
            message = event.get("message") or {}
            if "text" in message:
                await baseline.handle_text(event["sender"]["id"], message["text"], message.get("mid", ""))
    return Response("EVENT_RECEIVED")


if __name__ == "__main__":
    host, _, port = os.environ.get("BASELINE_ADDR", "127.0.0.1:8090").rpartition(":")
    uvicorn.run(app, host=host, port=int(port), log_level="warning", access_log=False)

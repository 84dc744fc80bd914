"""Reading what the loopback Graph API recorder (pentagon.devtools.graph_stub) was sent."""

from __future__ import annotations

import httpx


class GraphRecorder:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    async def sent_to(self, psid: str) -> list[dict]:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"{self.base_url}/_stub/sent", params={"recipient": psid})
            return response.json()["sent"]

    async def counts(self) -> dict[str, int]:
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.get(f"{self.base_url}/_stub/count")).json()

    async def all_sent(self) -> list[dict]:
        async with httpx.AsyncClient(timeout=30) as client:
            return (await client.get(f"{self.base_url}/_stub/sent")).json()["sent"]

    async def fail(self, psid: str, status: int, code: int, subcode: int | None = None, times: int | None = None) -> None:
        async with httpx.AsyncClient(timeout=10) as client:
            await client.post(f"{self.base_url}/_stub/fail", json={"recipient": psid, "status": status, "code": code,
                                                                   "subcode": subcode, "times": times})

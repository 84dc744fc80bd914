"""A tiny HTTP/1.1 keep-alive client on asyncio streams.

The load generator shares 2 cores with the whole stack; httpx spends several
times more CPU per request than this, which would cap the measured rate at the
client instead of the system under test.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                return b"".join(chunks)
            chunks.append(await reader.readexactly(size))
            await reader.readline()
    return b""


async def _read_response(reader: asyncio.StreamReader) -> Response:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return Response(status, headers, await _read_body(reader, headers))


@dataclass
class RawClient:
    host: str
    port: int
    size: int = 64
    timeout: float = 30.0
    _idle: asyncio.Queue = field(default_factory=asyncio.Queue)
    _open: int = 0

    async def _acquire(self) -> _Conn:
        if self._idle.empty() and self._open < self.size:
            self._open += 1
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except Exception:
                self._open -= 1
                raise
            return _Conn(reader, writer)
        return await self._idle.get()

    def _drop(self, conn: _Conn) -> None:
        self._open -= 1
        conn.writer.close()

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Response:
        conn = await self._acquire()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        try:
            conn.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            response = await asyncio.wait_for(_read_response(conn.reader), self.timeout)
        except BaseException:
            self._drop(conn)
            raise
        if response.headers.get("connection", "").lower() == "close":
            self._drop(conn)
        else:
            self._idle.put_nowait(conn)
        return response

    async def close(self) -> None:
        while not self._idle.empty():
            self._drop(self._idle.get_nowait())

"""A deliberately small HTTP/1.1 keep-alive client on asyncio streams.

The load generator shares two cores with the server and PostgreSQL, so it must cost as little
CPU per request as possible; a full client library would measure itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson


class HttpError(Exception):
    pass


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        if self._writer is None:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        payload = b"" if body is None else orjson.dumps(body)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(payload)}")
        for name, text in (headers or {}).items():
            lines.append(f"{name}: {text}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        try:
            status_line = await self._reader.readuntil(b"\r\n")
            status = int(status_line.split(b" ", 2)[1])
            length = 0
            close = False
            while True:
                line = await self._reader.readuntil(b"\r\n")
                if line == b"\r\n":
                    break
                header, _, value = line.partition(b":")
                lowered = header.strip().lower()
                if lowered == b"content-length":
                    length = int(value.strip())
                elif lowered == b"connection" and value.strip().lower() == b"close":
                    close = True
            content = await self._reader.readexactly(length) if length else b""
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            await self.close()
            raise HttpError(str(exc)) from exc
        if close:
            await self.close()
        return status, content

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

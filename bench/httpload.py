"""A small keep-alive HTTP/1.1 load client on asyncio: N connections, each sending its next request as soon
as the last one is answered. Bounded by a request count and a time limit; loopback only."""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    name: str
    connections: int
    latencies: list[float] = field(default_factory=list)  # seconds, one per measured unit of work
    errors: int = 0
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self, baseline: float | None = None) -> str:
        ratio = f"{self.rate / baseline:5.2f}x" if baseline else "   -  "
        return (
            f"{self.name:<28} c={self.connections:<3} {self.rate:8.0f}/s  p50 {self.percentile(50):7.2f} ms  "
            f"p99 {self.percentile(99):7.2f} ms  errors {self.errors:<3} ratio {ratio}"
        )


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, base_url: str) -> "Connection":
        url = urlsplit(base_url)
        assert url.hostname in ("127.0.0.1", "localhost", "::1"), "benchmarks only talk to loopback"
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return cls(reader, writer, f"{url.hostname}:{url.port}")

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
            elif name.lower() == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(parts)

    def close(self) -> None:
        self.writer.close()


Work = Callable[[Connection, int], Awaitable[bool]]  # one unit of work; returns whether it succeeded


async def run(name: str, base_url: str, work: Work, connections: int, total: int, limit: float = 30.0) -> Result:
    """Run `total` units of work over `connections` keep-alive connections, or until `limit` seconds pass."""
    result = Result(name, connections)
    counter = iter(range(total))
    deadline = time.perf_counter() + limit

    async def worker() -> None:
        conn = await Connection.open(base_url)
        try:
            for index in counter:
                if time.perf_counter() > deadline:
                    return
                start = time.perf_counter()
                ok = await work(conn, index)
                if ok:
                    result.latencies.append(time.perf_counter() - start)
                else:
                    result.errors += 1
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    result.elapsed = time.perf_counter() - started
    return result


def summary(results: list[Result]) -> str:
    return "\n".join(r.line() for r in results) + f"\nmedian rate {statistics.median(r.rate for r in results):.0f}/s"

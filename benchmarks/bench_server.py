"""The local PromptFloe server under load: sessions issued per second, and 200
concurrent generate streams against the same run's single-stream time.

The server runs as its own process (``python -m pf_server``, pace zero, a
fresh database in a temporary folder), as a user runs it, so the load
generator here does not share its interpreter. The load generator speaks
HTTP/1.1 over raw asyncio streams (keep-alive, one request per connection at a
time): a full client such as httpx costs more CPU per event than the server
does, and on a 2-core machine would measure itself. In one run:

- sessions/s:  POST /v1/sessions with the secret key, N calls, one at a time
               and then ``--concurrency`` at a time over keep-alive connections
- single:      one generate stream at a time; time from the request to the
               ``ready`` event, median of ``--single`` runs
- concurrent:  ``--streams`` generate streams started together; each one's
               time to ``ready``; p50 and p99, each as a ratio of single, and
               against streams x single (what one core shared fairly gives)
- idempotency: single streams with a fresh ``Idempotency-Key`` each, and
               replays of a finished run (its key sent again), alternating
               with plain ones; medians as ratios of the plain single

    python benchmarks/bench_server.py [--sessions 2000] [--streams 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(folder: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pf_server", "serve", "--port", str(port), "--pace", "0",
         "--db", str(folder / "pf.db"), "--quota", "10000000", "--log-level", "warning"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):  # bounded: up to ~30 s
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None:
                sys.exit("bench_server: the server exited at start")
            time.sleep(0.1)
    env_file = (folder / ".promptfloe" / "dev.env").read_text()
    key = next(ln.split("=", 1)[1] for ln in env_file.splitlines()
               if ln.startswith("PROMPTFLOE_API_KEY="))
    return proc, key


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough client for this benchmark."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _send(self, path: str, credential: str, body: bytes,
                    extra: str = "") -> asyncio.StreamReader:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {credential}\r\nContent-Type: application/json\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        assert self.reader is not None
        return self.reader

    async def post_json(self, path: str, credential: str, body: bytes) -> tuple[int, bytes]:
        """A request with a Content-Length answer: (status, body)."""
        reader = await self._send(path, credential, body)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = int(next(ln.split(b":")[1] for ln in head.lower().split(b"\r\n")
                          if ln.startswith(b"content-length:")))
        return status, await reader.readexactly(length)

    async def generate_until_ready(self, credential: str, body: bytes,
                                   key: str | None = None) -> None:
        """POST /v1/apps/generate and read its chunked stream to its end, past ``ready``."""
        extra = "" if key is None else f"Idempotency-Key: {key}\r\n"
        reader = await self._send("/v1/apps/generate", credential, body, extra)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head[9:12] == b"200", head
        seen_ready = False
        while True:  # chunked transfer coding (RFC 9112, 7.1)
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            chunk = await reader.readexactly(size + 2)
            seen_ready = seen_ready or b"\nevent: ready\n" in chunk
            if size == 0:
                break
        assert seen_ready

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def sessions_per_second(port: int, key: str, n: int, concurrency: int) -> float:
    todo = iter(range(n))

    async def worker() -> None:
        conn = Connection(port)
        for i in todo:
            status, body = await conn.post_json("/v1/sessions", key,
                                                b'{"endUserId": "user_%d"}' % (i % 50))
            assert status == 201, body
        conn.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


async def time_to_ready(conn: Connection, token: str, body: bytes,
                        key: str | None = None) -> float:
    start = time.perf_counter()
    await conn.generate_until_ready(token, body, key)
    return time.perf_counter() - start


async def idempotency_cost(port: int, token: str, body: bytes, n: int) -> None:
    """Plain, keyed and replayed single streams, interleaved so load drifts alike."""
    conn = Connection(port)
    plain: list[float] = []
    keyed: list[float] = []
    replayed: list[float] = []
    for i in range(n):
        plain.append(await time_to_ready(conn, token, body))
        keyed.append(await time_to_ready(conn, token, body, f"bench-{i}"))
        replayed.append(await time_to_ready(conn, token, body, f"bench-{i}"))
    conn.close()
    base = statistics.median(plain)
    print(f"generate with Idempotency-Key: {statistics.median(keyed) * 1000:6.2f} ms "
          f"({statistics.median(keyed) / base:.2f}x plain {base * 1000:.2f} ms); "
          f"replay of a finished run: {statistics.median(replayed) * 1000:6.2f} ms "
          f"({statistics.median(replayed) / base:.2f}x plain) (medians of {n})")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(port: int, key: str, n_sessions: int, concurrency: int, n_single: int,
              n_streams: int) -> None:
    await sessions_per_second(port, key, 100, concurrency)  # warm-up
    one = await sessions_per_second(port, key, n_sessions // 4, 1)
    many = await sessions_per_second(port, key, n_sessions, concurrency)
    print(f"sessions issued: {one:8.0f}/s one at a time, {many:8.0f}/s "
          f"{concurrency} at a time ({n_sessions} calls)")

    status, minted = await Connection(port).post_json("/v1/sessions", key,
                                                      b'{"endUserId": "bench"}')
    assert status == 201
    token = json.loads(minted)["token"]
    body = b'{"prompt": "A landing page for a neighbourhood bakery"}'
    conn = Connection(port)
    for _ in range(5):  # warm-up
        await time_to_ready(conn, token, body)
    single = statistics.median([await time_to_ready(conn, token, body)
                                for _ in range(n_single)])
    conn.close()
    await idempotency_cost(port, token, body, n_single)
    conns = [Connection(port) for _ in range(n_streams)]
    start = time.perf_counter()
    times = await asyncio.gather(*(time_to_ready(c, token, body) for c in conns))
    wall = time.perf_counter() - start
    for c in conns:
        c.close()
    p50, p99 = percentile(times, 50), percentile(times, 99)
    print(f"generate, single stream: {single * 1000:7.1f} ms to ready (median of {n_single})")
    print(f"generate, {n_streams} concurrent: p50 {p50 * 1000:7.1f} ms "
          f"({p50 / single:5.1f}x single), p99 {p99 * 1000:7.1f} ms "
          f"({p99 / single:5.1f}x single); all ready in {wall:.2f} s "
          f"= {n_streams / wall:.0f} runs/s (single: {1 / single:.0f} runs/s)")
    # One core serves them all, interleaved: each stream's fair share ends near
    # n_streams x single, so that is the yardstick for p50 and p99 here.
    fair = n_streams * single
    print(f"  against {n_streams} x single ({fair * 1000:.1f} ms, one core shared fairly): "
          f"p50 {p50 / fair:.2f}x, p99 {p99 / fair:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--single", type=int, default=30)
    parser.add_argument("--streams", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc, key = start_server(Path(tmp), port)
        try:
            asyncio.run(run(port, key, args.sessions, args.concurrency, args.single,
                            args.streams))
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()

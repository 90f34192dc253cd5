"""Event-stream decoding: ours against httpx-sse and a json.loads floor, in one run.

Two workloads of about 20 MB each, cut into random chunk sizes (seeded):
``file`` events carrying ~1.4 KB of content, and small ~60-byte events.

- ours:      pf_browser.sse.SSEDecoder + pf_browser._events.to_event (JSON into typed events)
- httpx-sse: its own SSELineDecoder and SSEDecoder, fed text decoded the way httpx
             decodes it, plus json.loads on each event's data
- floor:     json.loads alone on the same payloads

Goals (issue 2): ours >= 1.2x httpx-sse and >= 0.7x the floor, on both workloads.

    python benchmarks/bench_sse.py [--mb 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import codecs
import json
import random
import time
from collections.abc import Callable

from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder

from pf_browser._events import to_event
from pf_browser.sse import SSEDecoder


def file_workload(target: int, rng: random.Random) -> tuple[bytes, list[str]]:
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod".split()
    payloads, size, i = [], 0, 0
    while size < target:
        i += 1
        content = " ".join(rng.choice(words) for _ in range(230))[:1400]
        payloads.append(json.dumps({"path": f"src/file_{i}.js", "size": len(content),
                                    "content": content}))
        size += len(payloads[-1]) + 30
    return render("file", payloads), payloads


def small_workload(target: int, rng: random.Random) -> tuple[bytes, list[str]]:
    payloads, size, i = [], 0, 0
    while size < target:
        i += 1
        payloads.append(json.dumps({"runId": "run_x", "appId": f"app_{i % 997}"}))
        size += len(payloads[-1]) + 25
    return render("run", payloads), payloads


def render(kind: str, payloads: list[str]) -> bytes:
    return "".join(f"id: {i}\nevent: {kind}\ndata: {p}\n\n"
                   for i, p in enumerate(payloads, 1)).encode()


def chunked(raw: bytes, rng: random.Random) -> list[bytes]:
    chunks, pos = [], 0
    while pos < len(raw):
        n = rng.randint(256, 32 * 1024)
        chunks.append(raw[pos:pos + n])
        pos += n
    return chunks


def ours(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    n = 0
    for chunk in chunks:
        for sse in decoder.feed(chunk):
            to_event(sse)
            n += 1
    return n


def httpx_sse(chunks: list[bytes]) -> int:
    # httpx's iter_text decodes incrementally; httpx-sse then splits lines
    # (its SSELineDecoder) and interprets them (its SSEDecoder).
    text_decode = codecs.getincrementaldecoder("utf-8")("replace").decode
    lines = SSELineDecoder()
    decoder = HttpxSSEDecoder()
    loads = json.loads
    n = 0
    for chunk in chunks:
        for line in lines.decode(text_decode(chunk)):
            sse = decoder.decode(line)
            if sse is not None:
                loads(sse.data)
                n += 1
    return n


def floor(payloads: list[str]) -> int:
    loads = json.loads
    for p in payloads:
        loads(p)
    return len(payloads)


def best_rate(fn: Callable[[], int], rounds: int) -> float:
    best = float("inf")
    count = 0
    for _ in range(rounds):
        t = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1234)
    target = int(args.mb * 1_000_000)
    print(f"{'workload':<22}{'ours ev/s':>12}{'httpx-sse':>12}{'floor':>12}"
          f"{'ours/httpx-sse':>16}{'ours/floor':>12}")
    for name, make in (("file events ~1.4 KB", file_workload),
                       ("small events ~60 B", small_workload)):
        raw, payloads = make(target, rng)
        chunks = chunked(raw, rng)
        assert ours(chunks) == httpx_sse(chunks) == len(payloads)
        # Alternate the contenders within each round so machine noise hits all alike.
        r_ours = best_rate(lambda c=chunks: ours(c), args.rounds)
        r_httpx = best_rate(lambda c=chunks: httpx_sse(c), args.rounds)
        r_floor = best_rate(lambda p=payloads: floor(p), args.rounds)
        print(f"{name:<22}{r_ours:>12,.0f}{r_httpx:>12,.0f}{r_floor:>12,.0f}"
              f"{r_ours / r_httpx:>15.2f}x{r_ours / r_floor:>11.2f}x")
        print(f"{'':<22}({len(raw) / 1e6:.1f} MB, {len(payloads):,} events, "
              f"{len(chunks):,} chunks)")


if __name__ == "__main__":
    main()

"""Event-stream decoding: ours against httpx-sse and a json.loads floor, in one run.

Two workloads of about 20 MB each, cut into random chunk sizes (seeded):
``file`` events carrying ~1.4 KB of content, and small ~60-byte events.

- ours:      pf_browser's StreamState.feed, what a generation stream runs on each
             chunk: the SSEDecoder, the replay check, JSON into typed events
- httpx-sse: its own SSELineDecoder and SSEDecoder, fed text decoded the way httpx
             decodes it, plus json.loads on each event's data
- floor:     json.loads alone on the same payloads

Goals (issue 2): ours >= 1.2x httpx-sse and >= 0.7x the floor, on both workloads.

Below each workload, for reading the figures (not goals):

- public API:     SSEDecoder.feed (ServerSentEvent objects) + to_event
- loads+objects:  json.loads and the event's dataclass constructor, nothing else:
                  what any decoder that hands out typed events pays at least
- scan+from_wire: the same through ours' JSON call and event builder

Each round runs every contender once, in turn, so that noise on a shared
machine hits them alike; a contender's figure is its best round.

    python benchmarks/bench_sse.py [--mb 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import codecs
import json
import random
import time
from collections.abc import Callable
from functools import partial

from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder

from pf_browser._event_parser import _json, to_event
from pf_browser._events import FileEvent, RunEvent
from pf_browser._streaming import StreamState
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
    state = StreamState()
    n = 0
    for chunk in chunks:
        for _event in state.feed(chunk):
            n += 1
    return n


def public_api(chunks: list[bytes]) -> int:
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


def loads_objects(payloads: list[str]) -> int:
    loads = json.loads
    for p in payloads:
        d = loads(p)
        if "path" in d:
            FileEvent(d["path"], d["size"], d["content"])
        else:
            RunEvent(d["runId"], d["appId"])
    return len(payloads)


def scan_from_wire(payloads: list[str]) -> int:
    for p in payloads:
        d = _json(p)
        if "path" in d:
            FileEvent.from_wire(d)
        else:
            RunEvent.from_wire(d)
    return len(payloads)


def best_rates(contenders: dict[str, Callable[[], int]], rounds: int) -> dict[str, float]:
    best = dict.fromkeys(contenders, float("inf"))
    counts = {}
    for _ in range(rounds):
        for name, fn in contenders.items():
            t = time.perf_counter()
            counts[name] = fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return {name: counts[name] / best[name] for name in contenders}


def check_events(chunks: list[bytes], payloads: list[str]) -> None:
    """Ours hands out the events the payloads say, each once, in order."""
    state = StreamState()
    got = [ev for chunk in chunks for ev in state.feed(chunk)]
    for ev, p in zip(got, payloads, strict=True):
        d = json.loads(p)
        want = (FileEvent(d["path"], d["size"], d["content"]) if "path" in d
                else RunEvent(d["runId"], d["appId"]))
        assert ev == want, (ev, want)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(1234)
    target = int(args.mb * 1_000_000)
    print(f"{'workload':<22}{'ours ev/s':>12}{'httpx-sse':>12}{'floor':>12}"
          f"{'ours/httpx-sse':>16}{'ours/floor':>12}")
    for name, make in (("file events ~1.4 KB", file_workload),
                       ("small events ~60 B", small_workload)):
        raw, payloads = make(target, rng)
        chunks = chunked(raw, rng)
        check_events(chunks, payloads)
        assert public_api(chunks) == httpx_sse(chunks) == len(payloads)
        r = best_rates({
            "ours": partial(ours, chunks),
            "httpx-sse": partial(httpx_sse, chunks),
            "floor": partial(floor, payloads),
            "public API": partial(public_api, chunks),
            "loads+objects": partial(loads_objects, payloads),
            "scan+from_wire": partial(scan_from_wire, payloads),
        }, args.rounds)
        print(f"{name:<22}{r['ours']:>12,.0f}{r['httpx-sse']:>12,.0f}{r['floor']:>12,.0f}"
              f"{r['ours'] / r['httpx-sse']:>15.2f}x{r['ours'] / r['floor']:>11.2f}x")
        print(f"{'':<22}({len(raw) / 1e6:.1f} MB, {len(payloads):,} events, "
              f"{len(chunks):,} chunks)")
        for extra in ("public API", "loads+objects", "scan+from_wire"):
            print(f"{'  ' + extra:<22}{r[extra]:>12,.0f}{'':>24}"
                  f"{r[extra] / r['httpx-sse']:>15.2f}x{r[extra] / r['floor']:>11.2f}x")


if __name__ == "__main__":
    main()

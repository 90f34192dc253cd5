"""``import pf_browser`` in Pyodide, cold, from the site's wheel.

    python benchmarks/bench_import.py                 (builds site/ with build.py first)
    PF_SITE=path python benchmarks/bench_import.py    (uses a built site as is)
    python benchmarks/bench_import.py --against OTHER.whl   (and another pf_browser wheel)

What a page without the memory snapshot, or a notebook after ``%pip``, pays.
Each sample is a fresh Node process: boot the site's Pyodide, unpack the wheel
where a PyScript page unpacks it (the working folder), then time, in Python,

- ``import pf_browser``, then making an ``AsyncPromptFloe`` (what the first
  click pays after the import, so a cost moved there shows);
- the peer: ``import pyodide.http``, Pyodide's own fetch wrapper (``pyfetch``),
  what a page that calls the API without an SDK imports;
- with ``--against``, ``import pf_browser`` from another wheel (an older build).

Sides alternate, round after round (this machine is shared); the report gives
medians, minimums and the ratio of medians. Goal: ours <= 50 ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ROUNDS = int(os.environ.get("PF_IMPORT_ROUNDS", "15"))

# argv: pyodide dir, wheel ("" for none), Python code whose value is a list of ms.
RUNNER = r"""
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
const [pyodideDir, wheel, code] = process.argv.slice(1);
const indexURL = path.resolve(pyodideDir) + "/";
const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
const pyodide = await loadPyodide({ indexURL });
if (wheel) {
  const cwd = pyodide.runPython("import os; os.getcwd()");
  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel", { extractDir: cwd });
}
console.log(JSON.stringify(pyodide.runPython(code).toJs()));
"""

OURS = """
import time
t0 = time.perf_counter()
import pf_browser
t1 = time.perf_counter()
pf_browser.AsyncPromptFloe(session_url="/api/promptfloe/session", base_url="http://api")
t2 = time.perf_counter()
[(t1 - t0) * 1000, (t2 - t1) * 1000]
"""

PEER = """
import time
t0 = time.perf_counter()
import pyodide.http
[(time.perf_counter() - t0) * 1000, 0.0]
"""


def site_dir() -> Path:
    if env := os.environ.get("PF_SITE"):
        return Path(env)
    subprocess.run([sys.executable, "build.py"], cwd=REPO, check=True)
    return REPO / "site"


def sample(pyodide: Path, wheel: Path | None, code: str) -> list[float]:
    done = subprocess.run(["node", "--input-type=module", "-e", RUNNER, str(pyodide),
                           str(wheel or ""), code],
                          capture_output=True, text=True, check=False, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"bench_import: node failed:\n{done.stderr[-2000:]}")
    return [float(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


def main() -> None:
    against = None
    if "--against" in sys.argv[1:]:
        against = Path(sys.argv[sys.argv.index("--against") + 1]).resolve()
    site = site_dir()
    runtime = sorted((site / "_v").glob("pyodide-*"))
    if len(runtime) != 1:
        raise SystemExit(f"bench_import: expected one runtime under {site}/_v, got {runtime}")
    wheel = next((site / "wheels").glob("pf_browser-*.whl"))
    sides: dict[str, tuple[Path | None, str]] = {"ours": (wheel, OURS), "peer": (None, PEER)}
    if against is not None:
        sides["against"] = (against, OURS)
    got: dict[str, list[list[float]]] = {name: [] for name in sides}
    for _ in range(ROUNDS):
        for name, (whl, code) in sides.items():
            got[name].append(sample(runtime[0], whl, code))

    def col(name: str, i: int) -> list[float]:
        return [row[i] for row in got[name]]

    ours, peer = col("ours", 0), col("peer", 0)
    node = subprocess.run(["node", "-v"], capture_output=True, text=True).stdout.strip()
    print(f"import in {runtime[0].name} under Node {node}, "
          f"cold (a fresh process each), {ROUNDS} alternating rounds:")
    print("                                              median      min")
    print(f"  import pf_browser (ours):                {statistics.median(ours):7.1f} ms "
          f"{min(ours):7.1f} ms   (goal <= 50 ms)")
    client = col("ours", 1)
    print(f"  then AsyncPromptFloe(...):               {statistics.median(client):7.1f} ms "
          f"{min(client):7.1f} ms")
    print(f"  import pyodide.http (peer: pyfetch):     {statistics.median(peer):7.1f} ms "
          f"{min(peer):7.1f} ms")
    print(f"  ratio ours/peer: {statistics.median(ours) / statistics.median(peer):.2f} "
          "(medians)")
    if against is not None:
        other = col("against", 0)
        print(f"  import pf_browser from {against.name} (--against): "
              f"{statistics.median(other):.1f} ms median, {min(other):.1f} ms min; "
              f"ours/that {statistics.median(ours) / statistics.median(other):.2f}")


if __name__ == "__main__":
    main()

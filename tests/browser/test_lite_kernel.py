"""The notebook kernel's boot, in Chromium, Firefox and WebKit.

A worker boots Python from the kernel's boot module as the JupyterLite site
names it (site/lite/jupyter-lite.json), with the kernel's packages said to be
there, as the kernel's worker does. It boots from the kernel's memory
snapshot: where the browser has JSPI (Chromium, Firefox), the one made with
JSPI; in WebKit, which has none, the one made without. Either way the
kernel's packages are importable from their files, Pyodide's own functions
they hold work, micropip knows this site's lock, and the sync path
(``run_sync``) works where JSPI does. (test_lite.py runs the whole notebook
in Chromium, booted from the snapshot and plainly.)
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from _drivers import Browser
from _local_servers import StaticServer

KERNEL = "@jupyterlite/pyodide-kernel-extension:kernel"

BOOT = """async (url) => {
  const worker = new Worker(url, { type: "module" });
  const next = () => new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (event) => reject(new Error(event.message || "the worker failed"));
  });
  const ready = await next();
  globalThis.pfKernel = { worker, next };
  return ready.ready;
}"""

RUN = """async (code) => {
  const { worker, next } = globalThis.pfKernel;
  const answer = next();
  worker.postMessage(code);
  return await answer;
}"""

DRAWS = """
import sys
held = "random" in sys.modules  # the kernel's packages import it: in the snapshot
import json, random
json.dumps({"held": held, "random": [random.random() for _ in range(3)]})
"""

CHECK = """
import json, sys
import js, micropip, pyodide_js
import pyodide_kernel, piplite.piplite
from micropip import _compat
from pyodide.ffi import can_run_sync, run_sync

# A module no boot imported: read from the files the boot module wrote, and
# jedi completing reads parso's grammar from them too.
import jedi
completions = [c.name for c in jedi.Script("import json; json.dum").complete()]
# Every file of the archive is where the archive says, with its size and
# build-time modification time, and they can be written and grown like any
# other file (this kernel is thrown away).
import os, site
written_files = {}
for folder, _, names in os.walk(site.getsitepackages()[0]):
    for name in names:
        stat = os.stat(os.path.join(folder, name))
        written_files[os.path.relpath(os.path.join(folder, name), "/")] = [
            stat.st_size, stat.st_mtime_ns // 1_000_000]
times = {os.path.relpath(m.__file__, "/"): os.stat(m.__file__).st_mtime_ns // 1_000_000
         for m in (jedi, jedi.api)}
with open(jedi.__file__, "rb") as f:
    source = f.read()
with open(jedi.__file__, "r+b") as f:
    f.write(b"#")
with open(jedi.__file__, "ab") as f:
    f.write(b"# grown")
with open(jedi.__file__, "rb") as f:
    written = f.read() == b"#" + source[1:] + b"# grown"
with open(jedi.api.__file__, "rb") as f:
    neighbour = f.read()
# Pyodide's own function, held by pyodide_kernel since the snapshot was made.
await pyodide_kernel.kernel._load_packages_from_imports("import json")
sync = can_run_sync()
status = run_sync(js.fetch("/lite/jupyter-lite.json")).status if sync else None
json.dumps({
    "kernel": type(pyodide_kernel.kernel_instance).__name__,
    "stdout": type(sys.stdout).__name__,
    "times": times,
    "files": written_files,
    "written": written,
    "neighbour_starts": neighbour[:40].decode(),
    "completions": completions,
    "sync": sync,
    "status": status,
    "lock": sorted(_compat.LOCKFILE_PACKAGES),
    "base": _compat.lockfile_base_url,
    "base_now": pyodide_js.lockfileBaseUrl,
    "micropip_lists": sorted(micropip.list()),
    "snapshots": [entry.name.rsplit("/", 1)[-1]
                  for entry in js.performance.getEntriesByType("resource")
                  if "snapshot" in entry.name],
})
"""


def kernel_module(site: Path) -> str:
    config = json.loads((site / "lite" / "jupyter-lite.json").read_text())
    url = config["jupyter-config-data"]["litePluginSettings"][KERNEL]["pyodideUrl"]
    assert url.startswith("./../_v/kernel-"), f"the site's kernel boots without ours: {url}"
    return str(url).removeprefix("./..")


def archived(site: Path, module: str) -> dict[str, tuple[int, bytes]]:
    """The kernel's file archive (named in its boot module), unzipped: each
    file's path (from the root, without its leading /), modification time in
    ms, and bytes."""
    text = (site / module.lstrip("/")).read_text()
    name = re.search(r'"\./(kernel-files-[0-9a-f]{16}\.bin\.gz)"', text)
    assert name, "the kernel's boot module names no file archive"
    packed = gzip.decompress((site / "_v" / name[1]).read_bytes())
    length = int.from_bytes(packed[8:12], "little")
    files, at = {}, 12 + length
    for path, size, mtime in json.loads(packed[12:at]):
        files[path.lstrip("/")] = (mtime, packed[at:at + size])
        at += size
    assert at == len(packed), "the kernel's file archive is damaged"
    return files


def test_the_kernel_boots_with_its_packages_in_every_engine(
        engine: Browser, test_origin: StaticServer, site_dir: Path) -> None:
    module = kernel_module(site_dir)
    lock = json.loads((site_dir / "lite" / "kernel-packages" / "pyodide-lock.json").read_text())
    with engine.page() as page:
        page.goto(f"{test_origin.origin}/_test/pyodide.html")
        origin = test_origin.origin
        url = (f"{origin}/_test/kernel_worker.mjs?module={origin}{module}"
               f"&lock={origin}/lite/kernel-packages/pyodide-lock.json")
        jspi = page.engine != "webkit"
        boot = page.evaluate(BOOT, url, timeout=180)
        draws = [page.evaluate(RUN, DRAWS, timeout=60)]
        answer = page.evaluate(RUN, CHECK, timeout=180)
        assert "error" not in answer, answer
        found = json.loads(answer["result"])
        # A second kernel, booted from the same snapshot (the kept copy):
        # the boot module seeded `random` again in each.
        page.evaluate("globalThis.pfKernel.worker.terminate() ?? true")
        assert page.evaluate(BOOT, url, timeout=180) == boot
        draws.append(page.evaluate(RUN, DRAWS, timeout=60))
    assert boot == "snapshot"
    # The first kernel fetched the one snapshot this browser can use, and
    # not the other (the second kernel read the kept copy).
    [snapshot] = found["snapshots"]
    assert re.fullmatch(r"kernel-snapshot-[0-9a-f]{16}\.bin\.gz" if jspi else
                        r"kernel-snapshot-without-jspi-[0-9a-f]{16}\.bin\.gz", snapshot)
    assert all("error" not in d and json.loads(d["result"])["held"] for d in draws), draws
    first, second = (json.loads(d["result"]) for d in draws)
    assert first["random"] != second["random"], draws
    assert found["kernel"] == "PyodideKernel" and found["stdout"] == "LiteStream"
    assert "dump" in found["completions"] and "dumps" in found["completions"]
    # The boot module wrote the kernel's files with the archive's times, as
    # files like any other: one written over and grown, its neighbour intact.
    files = archived(site_dir, module)
    assert all(path.startswith("lib/python3") and "/site-packages/" in path for path in files)
    assert {path: found["files"].get(path) for path in files} == {
        path: [len(data), mtime] for path, (mtime, data) in files.items()}
    assert found["times"] == {path: files[path][0] for path in found["times"]}, found["times"]
    assert found["written"] is True
    neighbour = next(p for p in found["times"] if p.endswith("api/__init__.py"))
    assert found["neighbour_starts"] == files[neighbour][1][:40].decode()
    assert found["sync"] is jspi
    assert found["status"] == (200 if jspi else None)
    # micropip reads the site's kernel lock, and its base URL is this site's.
    assert found["lock"] == sorted(lock["packages"])
    assert found["base"] == found["base_now"] == f"{test_origin.origin}/lite/kernel-packages/"
    assert {"ipython", "jedi", "micropip", "pyodide-kernel"} <= set(found["micropip_lists"])


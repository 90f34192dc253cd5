"""The notebook kernel's boot, in Chromium, Firefox and WebKit.

A worker boots Python from the kernel's boot module as the JupyterLite site
names it (site/lite/jupyter-lite.json), with the kernel's packages said to be
there, as the kernel's worker does. Where the browser has JSPI (Chromium,
Firefox) it boots from the kernel's memory snapshot, made with JSPI; WebKit
has none and boots plainly. Either way the kernel's packages are importable
from their files, Pyodide's own functions they hold work, micropip knows
this site's lock, and the sync path (``run_sync``) works where JSPI does.
(test_lite.py runs the whole notebook in Chromium, on both boots.)
"""

from __future__ import annotations

import json
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
# Pyodide's own function, held by pyodide_kernel since the snapshot was made.
await pyodide_kernel.kernel._load_packages_from_imports("import json")
sync = can_run_sync()
status = run_sync(js.fetch("/lite/jupyter-lite.json")).status if sync else None
json.dumps({
    "kernel": type(pyodide_kernel.kernel_instance).__name__,
    "stdout": type(sys.stdout).__name__,
    "completions": completions,
    "sync": sync,
    "status": status,
    "lock": sorted(_compat.LOCKFILE_PACKAGES),
    "base": _compat.lockfile_base_url,
    "base_now": pyodide_js.lockfileBaseUrl,
    "micropip_lists": sorted(micropip.list()),
})
"""


def kernel_module(site: Path) -> str:
    config = json.loads((site / "lite" / "jupyter-lite.json").read_text())
    url = config["jupyter-config-data"]["litePluginSettings"][KERNEL]["pyodideUrl"]
    assert url.startswith("./../_v/kernel-"), f"the site's kernel boots without ours: {url}"
    return str(url).removeprefix("./..")


def test_the_kernel_boots_with_its_packages_in_every_engine(
        engine: Browser, test_origin: StaticServer, site_dir: Path) -> None:
    module = kernel_module(site_dir)
    lock = json.loads((site_dir / "lite" / "kernel-packages" / "pyodide-lock.json").read_text())
    with engine.page() as page:
        page.goto(f"{test_origin.origin}/_test/pyodide.html")
        origin = test_origin.origin
        url = (f"{origin}/_test/kernel_worker.mjs?module={origin}{module}"
               f"&lock={origin}/lite/kernel-packages/pyodide-lock.json")
        boot = page.evaluate(BOOT, url, timeout=180)
        answer = page.evaluate(RUN, CHECK, timeout=180)
        assert "error" not in answer, answer
        found = json.loads(answer["result"])
    jspi = page.engine != "webkit"
    assert boot == ("snapshot" if jspi else "plain")
    assert found["kernel"] == "PyodideKernel" and found["stdout"] == "LiteStream"
    assert "dump" in found["completions"] and "dumps" in found["completions"]
    assert found["sync"] is jspi
    assert found["status"] == (200 if jspi else None)
    # micropip reads the site's kernel lock, and its base URL is this site's.
    assert found["lock"] == sorted(lock["packages"])
    assert found["base"] == found["base_now"] == f"{test_origin.origin}/lite/kernel-packages/"
    assert {"ipython", "jedi", "micropip", "pyodide-kernel"} <= set(found["micropip_lists"])


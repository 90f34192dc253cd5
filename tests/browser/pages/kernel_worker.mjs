// A worker that boots Python as the notebook site's kernel does: from the
// kernel's boot module (?module=, the site's pyodideUrl) with the kernel's
// lock (?lock=), told its packages are there, as jupyter-lite.json tells the
// kernel. Then it runs the Python it is sent and posts the result (or the
// error) back.
const query = new URLSearchParams(location.search);
const { loadPyodide } = await import(query.get("module"));
const pyodide = await loadPyodide({
  lockFileURL: query.get("lock"),
  packages: ["micropip", "piplite", "ipykernel", "comm", "pyodide-kernel", "jedi", "ipython"],
});

self.onmessage = async ({ data: code }) => {
  try {
    self.postMessage({ result: await pyodide.runPythonAsync(code) });
  } catch (error) {
    self.postMessage({ error: `${error?.name}: ${error?.message ?? error}` });
  }
};
self.postMessage({ ready: globalThis.pfPythonBoot });

// Shared by the page and its worker: boot Pyodide, unpack our wheels into
// site-packages (no micropip, no network), and run code, returning plain JS.
export async function boot(loadPyodide, wheels) {
  const pyodide = await loadPyodide({ indexURL: "/vendor/pyodide/" });
  for (const url of wheels) {
    const buffer = await (await fetch(url)).arrayBuffer();
    pyodide.unpackArchive(buffer, "wheel");
  }
  return pyodide;
}

export async function run(pyodide, code) {
  let result = await pyodide.runPythonAsync(code);
  if (result && typeof result.toJs === "function") {
    const proxy = result;
    result = proxy.toJs({ dict_converter: Object.fromEntries });
    proxy.destroy();
  }
  return result;
}

// A worker that boots Python as the notebook site's kernel does: from the
// kernel's boot module (?module=, the site's pyodideUrl) with the kernel's
// lock (?lock=), told its packages are there, as jupyter-lite.json tells the
// kernel, and with streams of its own, as the kernel has. With ?ahead=same
// (or ?ahead=other), Python is first started ahead with those options (or
// other ones), as build.py's kernel_ahead() has the notebook's page do, and
// then asked for as the kernel asks. Then it runs the Python it is sent and
// posts the result (or the error) back, with what Python wrote to stdout and
// stderr since the boot. What the boot warned of goes back with its answer.
const warned = [];
const warn = console.warn;
console.warn = (...args) => {
  warned.push(args.map(String).join(" "));
  warn.apply(console, args);
};
const query = new URLSearchParams(location.search);
const boot = await import(query.get("module"));
const options = {
  lockFileURL: query.get("lock"),
  packages: ["micropip", "piplite", "ipykernel", "comm", "pyodide-kernel", "jedi", "ipython"],
};
const ahead = query.get("ahead");
// The other options: the runtime's own lock, not the kernel's.
const other = { ...options, lockFileURL: new URL("../../vendor/pyodide/pyodide-lock.json", options.lockFileURL).href };
if (ahead) boot.bootAhead(ahead === "same" ? { ...options } : other);
const streams = { stdout: [], stderr: [] };
const pyodide = await boot.loadPyodide({
  ...options,
  stdout: (line) => streams.stdout.push(line),
  stderr: (line) => streams.stderr.push(line),
});

self.onmessage = async ({ data: code }) => {
  streams.stdout.length = streams.stderr.length = 0;
  try {
    self.postMessage({ result: await pyodide.runPythonAsync(code), ...streams });
  } catch (error) {
    self.postMessage({ error: `${error?.name}: ${error?.message ?? error}` });
  }
};
self.postMessage({ ready: globalThis.pfPythonBoot, ahead: globalThis.pfKernelAhead ?? null, warned });

// The test page's module worker: same boot as the main thread, code by message.
import { loadPyodide } from "/vendor/pyodide/pyodide.mjs";
import { boot, run } from "./boot.mjs";

const wheels = (new URLSearchParams(location.search).get("wheels") || "")
  .split(",").filter(Boolean);
const ready = boot(loadPyodide, wheels);

self.onmessage = async ({ data: { id, code } }) => {
  try {
    self.postMessage({ id, result: await run(await ready, code) });
  } catch (error) {
    self.postMessage({ id, error: String(error && error.message || error) });
  }
};

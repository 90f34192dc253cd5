// Build-time work in Pyodide under Node, run by build.py (never by a page).
//
//   node boot/pyodide_build.mjs bytecode <pyodide dir> <wheel> <out dir>
//       Compile the wheel's Python for Pyodide's own Python: writes each
//       module's __pycache__/<name>.cpython-3XX.pyc under <out dir>
//       (unchecked-hash pycs: valid whatever the unpacked files' times are).
//   node boot/pyodide_build.mjs snapshot <pyodide dir> <wheel> <out file>
//       Boot Pyodide, unpack the wheel where a PyScript page unpacks it (the
//       working folder), import pf_browser, and write a memory snapshot of
//       the interpreter to <out file>, without its zero pages (about half of
//       it: less to unzip in the page), gzipped. The format, which the boot
//       module's unpack() reads: "PFSNAP01", then little-endian u32s: the
//       memory's length, the page size, the number of runs of pages kept, and
//       (first page, pages) for each run; then the kept pages, run by run.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { pathToFileURL } from "node:url";

const [command, pyodideDir, wheel, out] = process.argv.slice(2);
if (!command || !pyodideDir || !wheel || !out) {
  console.error("usage: pyodide_build.mjs bytecode|snapshot <pyodide dir> <wheel> <out>");
  process.exit(2);
}
const indexURL = path.resolve(pyodideDir) + "/";
const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
// A Uint8Array: unpackArchive refuses Node's Buffer.
const wheelBytes = new Uint8Array(fs.readFileSync(wheel));

if (command === "bytecode") {
  const pyodide = await loadPyodide({ indexURL });
  const tree = "/tmp/pf_wheel";
  pyodide.unpackArchive(wheelBytes, "wheel", { extractDir: tree });
  const files = pyodide.runPython(`
import compileall, os, py_compile
ok = compileall.compile_dir(${JSON.stringify(tree)}, quiet=1,
                            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
if not ok:
    raise SystemExit("compileall failed")
[os.path.relpath(os.path.join(d, f), ${JSON.stringify(tree)})
 for d, _, names in os.walk(${JSON.stringify(tree)}) for f in names if f.endswith(".pyc")]
`).toJs();
  for (const rel of files) {
    const target = path.join(out, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, pyodide.FS.readFile(`${tree}/${rel}`));
  }
  console.log(`bytecode: ${files.length} modules for Python ${pyodide.version}`);
} else if (command === "snapshot") {
  const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true });
  // PyScript unpacks `files` targets "./*" into the working folder: the same
  // path here, so modules imported after the boot are found where the
  // snapshot's import system saw them.
  const cwd = pyodide.runPython("import os; os.getcwd()");
  pyodide.unpackArchive(wheelBytes, "wheel", { extractDir: cwd });
  pyodide.runPython("import pf_browser");
  const snapshot = pyodide.makeMemorySnapshot();
  const packed = withoutZeroPages(snapshot);
  fs.writeFileSync(out, zlib.gzipSync(packed, { level: 9 }));
  console.log(`snapshot: ${snapshot.length} bytes, ${packed.length} without its zero pages, `
              + `working folder ${cwd}`);
} else {
  console.error(`unknown command ${command}`);
  process.exit(2);
}

function withoutZeroPages(memory, page = 4096) {
  const isZero = (start) => {
    const end = Math.min(start + page, memory.length);
    for (let i = start; i < end; i++) if (memory[i] !== 0) return false;
    return true;
  };
  const runs = [];
  for (let first = 0; first * page < memory.length; first++) {
    if (isZero(first * page)) continue;
    const last = runs[runs.length - 1];
    if (last && last[0] + last[1] === first) last[1] += 1;
    else runs.push([first, 1]);
  }
  const parts = runs.map(([first, pages]) =>
    memory.subarray(first * page, Math.min((first + pages) * page, memory.length)));
  const head = Buffer.alloc(20 + runs.length * 8);
  head.write("PFSNAP01", 0, "latin1");
  head.writeUInt32LE(memory.length, 8);
  head.writeUInt32LE(page, 12);
  head.writeUInt32LE(runs.length, 16);
  runs.forEach(([first, pages], i) => {
    head.writeUInt32LE(first, 20 + i * 8);
    head.writeUInt32LE(pages, 24 + i * 8);
  });
  return Buffer.concat([head, ...parts]);
}

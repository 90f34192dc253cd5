// Build-time work in Pyodide under Node, run by build.py (never by a page).
//
//   node boot/pyodide_build.mjs bytecode <pyodide dir> <wheel> <out dir>
//       Compile the wheel's Python for Pyodide's own Python: writes each
//       module's __pycache__/<name>.cpython-3XX.pyc under <out dir>
//       (unchecked-hash pycs: valid whatever the unpacked files' times are).
//   node boot/pyodide_build.mjs pyscript-bytecode <pyodide dir> <stdlib module> <out dir>
//       Compile PyScript's own Python package (the `pyscript` modules a page
//       writes into its working folder at every boot, read from @pyscript/core's
//       src/stdlib/pyscript.js) for Pyodide's Python: writes
//       pyscript/__pycache__/<name>.cpython-3XX.pyc under <out dir>. These are
//       checked-hash pycs: Python uses one only while the source PyScript wrote
//       hashes the same, and compiles the source otherwise.
//   node boot/pyodide_build.mjs snapshot <pyodide dir> <wheel> <out file> [<stdlib module>]
//       Boot Pyodide, unpack the wheel where a PyScript page unpacks it (the
//       working folder), import pf_browser and the standard-library modules
//       PyScript's package imports (when <stdlib module> is given; they are
//       plain Python, holding nothing of the page), and write a memory snapshot of
//       the interpreter to <out file>, without its zero pages (about half of
//       it: less to unzip in the page), gzipped. The format, which the boot
//       module's unpack() reads: "PFSNAP01", then little-endian u32s: the
//       memory's length, the page size, the number of runs of pages kept, and
//       (first page, pages) for each run; then the kept pages, run by run.
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { pathToFileURL } from "node:url";

// `input`: the wheel, or (pyscript-bytecode) PyScript's stdlib module.
const [command, pyodideDir, input, out] = process.argv.slice(2);
if (!command || !pyodideDir || !input || !out) {
  console.error("usage: pyodide_build.mjs bytecode|pyscript-bytecode|snapshot "
                + "<pyodide dir> <wheel or stdlib module> <out>");
  process.exit(2);
}
const indexURL = path.resolve(pyodideDir) + "/";
const { loadPyodide } = await import(pathToFileURL(indexURL + "pyodide.mjs").href);
// A Uint8Array: unpackArchive refuses Node's Buffer.
const wheelBytes = () => new Uint8Array(fs.readFileSync(input));

// Copies `files` (paths relative to `root` in Pyodide's file system) to `out`.
function copyOut(pyodide, root, files) {
  for (const rel of files) {
    const target = path.join(out, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, pyodide.FS.readFile(`${root}/${rel}`));
  }
}

// The standard-library modules that PyScript's package imports, and its
// sources, from @pyscript/core's src/stdlib/pyscript.js.
const PYSCRIPT_SOURCES = `
import ast, sys
def pyscript_sources(tree, base="."):
    for name, value in tree.items():
        path = f"{base}/{name}"
        if isinstance(value, str):
            yield path, value
        else:
            yield from pyscript_sources(value, path)

def stdlib_imports(sources):
    found = set()
    for path, source in sources:
        for node in ast.walk(ast.parse(source, path)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom)
                     and node.level == 0 and node.module else [])
            found.update(n for n in names if n.split(".")[0] in sys.stdlib_module_names)
    return sorted(found)
`;

// Defines the functions above in `pyodide` and PyScript's package tree as
// `tree`, read from `stdlibModule` (its default export).
async function withPyscriptTree(pyodide, stdlibModule) {
  const { default: tree } = await import(pathToFileURL(path.resolve(stdlibModule)).href);
  if (!tree || typeof tree.pyscript !== "object") {
    throw new Error(`${stdlibModule} holds no pyscript package`);
  }
  pyodide.runPython(PYSCRIPT_SOURCES);
  pyodide.globals.set("tree", pyodide.toPy(tree));
}

if (command === "pyscript-bytecode") {
  const pyodide = await loadPyodide({ indexURL });
  await withPyscriptTree(pyodide, input);
  const files = pyodide.runPython(`
import os, py_compile
root = "/tmp/pf_pyscript"
written = []
for path, source in pyscript_sources(tree):
    target = os.path.join(root, path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as f:  # as PyScript writes it
        f.write(source)
    pyc = py_compile.compile(target, doraise=True,
                             invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
    written.append(os.path.relpath(pyc, root))
written
`).toJs();
  copyOut(pyodide, "/tmp/pf_pyscript", files);
  console.log(`pyscript-bytecode: ${files.length} modules for Python ${pyodide.version}`);
  process.exit(0);
}

if (command === "bytecode") {
  const pyodide = await loadPyodide({ indexURL });
  const tree = "/tmp/pf_wheel";
  pyodide.unpackArchive(wheelBytes(), "wheel", { extractDir: tree });
  const files = pyodide.runPython(`
import compileall, os, py_compile
ok = compileall.compile_dir(${JSON.stringify(tree)}, quiet=1,
                            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
if not ok:
    raise SystemExit("compileall failed")
[os.path.relpath(os.path.join(d, f), ${JSON.stringify(tree)})
 for d, _, names in os.walk(${JSON.stringify(tree)}) for f in names if f.endswith(".pyc")]
`).toJs();
  copyOut(pyodide, tree, files);
  console.log(`bytecode: ${files.length} modules for Python ${pyodide.version}`);
} else if (command === "snapshot") {
  const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true });
  // PyScript unpacks `files` targets "./*" into the working folder: the same
  // path here, so modules imported after the boot are found where the
  // snapshot's import system saw them.
  const cwd = pyodide.runPython("import os; os.getcwd()");
  pyodide.unpackArchive(wheelBytes(), "wheel", { extractDir: cwd });
  pyodide.runPython("import pf_browser");
  const stdlibModule = process.argv[6];
  if (stdlibModule) {
    await withPyscriptTree(pyodide, stdlibModule);
    const imported = pyodide.runPython(`
import importlib
names = stdlib_imports(pyscript_sources(tree))
for name in names:
    importlib.import_module(name)
del tree
names
`).toJs();
    console.log(`snapshot: imported ${imported.join(", ")} for PyScript`);
  }
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

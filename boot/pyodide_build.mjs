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
//   node boot/pyodide_build.mjs kernel-snapshot <pyodide dir> <files out> <out file> <lock> <wheel>...
//       The same for the JupyterLite site's Pyodide kernel, on the kernel's
//       lock file: install the kernel's wheels (its own, IPython's, jedi's,
//       micropip's) into site-packages, import what the kernel's worker
//       imports after the boot (pyodide_kernel, then piplite and so
//       micropip; in /drive, where the worker mounts the notebooks), and
//       write the snapshot to <out file>, as above. A snapshot keeps
//       Python's memory, not its files: <files out> gets site-packages as
//       the imports left it (their bytecode included, each file with its
//       time), gzipped, in a format of our own (fileArchive below) that the
//       kernel's boot module writes into Pyodide's file system after the boot.
//       Run under a Node with JSPI on (--experimental-wasm-jspi): Pyodide
//       picks its way of blocking on a promise (run_sync) when it starts and
//       the snapshot keeps that choice, so a kernel booted from it blocks
//       with JSPI as a plain one does. The objects of Pyodide's own
//       JavaScript that these modules hold (the `pyodide_js` module, its
//       loadPackagesFromImports, micropip's loadPackage, loadedPackages and
//       _api.install) are written as {pyodide: <name>, kind}, and the boot
//       module binds them to the booted Pyodide again.
//   node boot/pyodide_build.mjs kernel-snapshot-without-jspi <same arguments>
//       The same, under a Node without JSPI (Node 20), for browsers without
//       it (WebKit): its run_sync cannot block, as a plain boot's there
//       cannot. It writes the same files, byte for byte.
import nodeCrypto from "node:crypto";
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

// A snapshot made twice from the same inputs is the same bytes, so every
// build (a fresh clone's, a deploy's) names it alike (the site names it by
// its content) and a returning visitor keeps it across builds. What made
// two differ: the randomness Python drew as it started and imported (its
// hash secret, random's seed, tempfile's names) and the times it kept.
// Here the randomness is a fixed sequence and the clocks start at a fixed
// instant and move 1 µs at each reading. Neither reaches a visitor as
// such: the boot module seeds random again at every boot, and the hash
// secret was never secret (anyone can read it in the snapshot). Nor do the
// build machine's paths, which made builds in two folders differ: Python's
// environment names this script (`_`, from Node's argv), and the kernel's
// micropip keeps its packages' base URL (see kernelSnapshot).
function reproducibly() {
  process.argv[1] = "pyodide_build.mjs";
  let state = 0x9e3779b97f4a7c15n;  // xorshift64
  const fill = (view) => {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    for (let i = 0; i < bytes.length; i++) {
      state ^= (state << 13n) & 0xffffffffffffffffn;
      state ^= state >> 7n;
      state ^= (state << 17n) & 0xffffffffffffffffn;
      bytes[i] = Number(state & 0xffn);
    }
    return view;
  };
  nodeCrypto.randomFillSync = fill;  // Emscripten's source under Node: os.urandom
  const start = Date.UTC(2020, 1, 2);
  let elapsed = 0;  // ms
  performance.now = () => (elapsed += 0.001);
  Date.now = () => start + Math.floor(elapsed += 0.001);
}
const SNAPSHOTS = ["snapshot", "kernel-snapshot", "kernel-snapshot-without-jspi"];
if (SNAPSHOTS.includes(command)) reproducibly();
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

if (command === "kernel-snapshot" || command === "kernel-snapshot-without-jspi") {
  await kernelSnapshot(process.argv[6], process.argv.slice(7), command === "kernel-snapshot");
  process.exit(0);
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

async function kernelSnapshot(lockFile, wheels, jspi) {
  if ((typeof WebAssembly.Suspending === "function") !== jspi) {
    throw new Error(jspi ? "kernel-snapshot needs JSPI: run Node 24 with --experimental-wasm-jspi"
      : "kernel-snapshot-without-jspi needs a Node without JSPI (Node 20, or no JSPI flag)");
  }
  const filesOut = input;
  // The kernel's lock file: micropip reads it when imported, and keeps the
  // packages' base URL, by default the lock's folder on this machine. Its
  // name in the site instead; the booted kernel sets its own (the boot
  // module's afterSnapshot).
  const pyodide = await loadPyodide({
    indexURL, _makeSnapshot: true, lockFileURL: path.resolve(lockFile),
    packageBaseUrl: `./${path.basename(path.dirname(path.resolve(lockFile)))}/` });
  const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
  const distInfos = () => new Set(pyodide.FS.readdir(sitePackages)
    .filter((name) => name.endsWith(".dist-info")));
  for (const wheel of wheels) {
    const before = distInfos();
    pyodide.unpackArchive(new Uint8Array(fs.readFileSync(wheel)), "wheel",
                          { extractDir: sitePackages });
    // Installed as a plain kernel installs it, for micropip.list(): from
    // the lock by Pyodide ("pyodide"), the others by piplite (micropip,
    // from their wheel).
    const locked = path.basename(path.dirname(wheel)) === path.basename(path.dirname(lockFile));
    for (const info of distInfos()) {
      if (before.has(info)) continue;
      pyodide.FS.writeFile(`${sitePackages}/${info}/INSTALLER`, locked ? "pyodide" : "micropip");
      pyodide.FS.writeFile(`${sitePackages}/${info}/PYODIDE_SOURCE`,
                           locked ? "pyodide" : path.basename(wheel));
    }
  }
  // What the kernel's worker imports after the boot, in /drive, where it
  // mounts the notebooks.
  const files = pyodide.runPython(`
import os
os.makedirs("/drive", exist_ok=True)
os.chdir("/drive")
import pyodide_kernel
import piplite.piplite
root = ${JSON.stringify(sitePackages)}
sorted(os.path.join(d, f) for d, _, names in os.walk(root) for f in names)
`).toJs();
  // No file may be open in the snapshot: the booted kernel's file
  // descriptors are not these, and closing one there fails (EBADF). The
  // imports leave the standard library's zip open in importlib.metadata's
  // cache of sys.path entries: emptied, and the zip closed, here.
  pyodide.runPython(`
import gc, importlib.metadata
importlib.metadata.FastPath.__new__.cache_clear()
gc.collect()
`);
  const open = pyodide.FS.streams.filter((stream) => stream && stream.fd > 2)
    .map((stream) => stream.path);
  if (open.length) throw new Error(`files left open for the snapshot: ${open.join(", ")}`);
  fs.writeFileSync(filesOut, zlib.gzipSync(fileArchive(pyodide, files), { level: 9 }));
  // Pyodide's own objects the kernel's modules hold, by their names on the
  // pyodide object (or its _api, which micropip imports from).
  const names = new Map();
  for (const [prefix, owner] of [["", pyodide], ["_api.", pyodide._api]]) {
    for (const name of Object.getOwnPropertyNames(owner)) {
      try {
        const value = owner[name];
        if ((typeof value === "function" || (typeof value === "object" && value))
            && !names.has(value)) names.set(value, prefix + name);
      } catch {}
    }
  }
  const snapshot = pyodide.makeMemorySnapshot({
    serializer(value) {
      if (value === pyodide) return { pyodide: null, kind: "object" };
      if (names.has(value)) return { pyodide: names.get(value), kind: typeof value };
      throw new Error(`the kernel holds a JavaScript object the snapshot cannot name: ${value}`);
    },
  });
  const packed = withoutZeroPages(snapshot);
  fs.writeFileSync(out, zlib.gzipSync(packed, { level: 9 }));
  console.log(`${command}: ${snapshot.length} bytes, ${packed.length} without its zero `
              + `pages; ${files.length} files of site-packages`);
}

// The files at `paths` (from the root), in the format the boot module's
// writeFiles() reads: "PFFILES1", a little-endian u32 (the header's length),
// the header (JSON: [path, size, modification time in ms] for each file),
// then the files' bytes in that order.
function fileArchive(pyodide, paths) {
  const parts = paths.map((file) => pyodide.FS.readFile(file));
  const times = paths.map((file) => pyodide.FS.stat(file).mtime);
  const header = Buffer.from(JSON.stringify(paths.map((file, i) =>
    [file, parts[i].length, times[i] instanceof Date ? times[i].getTime() : times[i]])));
  const head = Buffer.alloc(12);
  head.write("PFFILES1", 0, "latin1");
  head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, header, ...parts]);
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

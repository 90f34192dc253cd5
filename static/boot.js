// The page before Python: boot progress, and the demo sign-in bar.
// Everything here is local; the Python side (py/*.py) does the PromptFloe work.
"use strict";

// PyScript reports each boot stage as a "py:progress" event on window
// (@pyscript/core 0.7: "Loading Pyodide", "Loaded Pyodide", ...).
const BOOT_WORDS = {
  "Loading Pyodide": "Downloading the Python runtime",
  "Loaded Pyodide": "Python runtime downloaded",
  "Loading Storage": "Preparing storage",
  "Loaded Storage": "Storage ready",
  "Loading interpreter": "Starting Python",
  "Loaded interpreter": "Python started, with pf_browser",
};

addEventListener("py:progress", ({ detail }) => {
  const bar = document.getElementById("boot-progress");
  const step = document.getElementById("boot-step");
  if (!bar || !step) return;
  bar.value = Math.min(bar.max, bar.value + 1);
  step.textContent = BOOT_WORDS[detail] || detail;
});

// The boot module could not start Python (the page's Python files could not
// be fetched, say): say so in the status, not only in the console.
addEventListener("pf:boot-failed", ({ detail }) => {
  const status = document.getElementById("status");
  if (!status || status.dataset.state !== "booting") return;
  status.dataset.state = "error";
  status.textContent = `Python could not start: ${detail}. Reload the page; if this ` +
    "happens again, this site is missing files (rebuild it with build.py).";
});

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

// The page's half of the view that Python drives (py/demo_ui.py): a list of
// changes to elements named by id, carried out in one call, so that Python in
// a worker pays one round trip to the page for each visible change.
//   ["set", id, property, value]       node[property] = value
//   ["attr", id, name, value]          setAttribute, or removeAttribute if null
//   ["append", id, [tag, {attributes}, child...]]   a child is text or the same
//   ["renew", id]                      the element, replaced by a copy without
//                                      its children and `src` (a frame: its app
//                                      stops, and no history entry is left)
//   ["listen", id, type, handler]      addEventListener
function pfApply(changes) {
  for (const [kind, id, ...args] of changes) {
    const node = document.getElementById(id);
    if (!node) throw new Error(`pfApply: no element #${id} on this page`);
    if (kind === "set") node[args[0]] = args[1];
    else if (kind === "attr") {
      if (args[1] === null || args[1] === undefined) node.removeAttribute(args[0]);
      else node.setAttribute(args[0], args[1]);
    } else if (kind === "append") node.append(build(args[0]));
    else if (kind === "renew") {
      const fresh = node.cloneNode(false);
      fresh.removeAttribute("src");
      node.replaceWith(fresh);
    } else if (kind === "listen") node.addEventListener(args[0], args[1]);
    else throw new Error(`pfApply: unknown change ${JSON.stringify(kind)}`);
  }
}

function build(spec) {
  if (typeof spec === "string") return spec;
  const [tag, attrs, ...children] = spec;
  return el(tag, attrs, ...children.map(build));
}

// The account bar. Signing in or out posts the form in the background and
// tells the page's Python (a click on #account-changed, whose data-user is the
// user or null), which renews its token: no reload, Python stays loaded.
async function renderAccount() {
  const box = document.getElementById("account");
  let config;
  try {
    config = await (await fetch("./config.json", { cache: "no-store" })).json();
  } catch {
    box.replaceChildren(el("span", { class: "muted" }, "App server unreachable"));
    return null;
  }
  let form;
  if (config.user) {
    form = el("form", { method: "post", action: "./signout" },
              el("button", { class: "link", type: "submit", "data-testid": "signout" },
                 "Sign out"));
    box.replaceChildren(
      el("span", { class: "who", "data-testid": "user" }, "Signed in as ",
         el("strong", {}, config.user.name)), form);
  } else {
    const select = el("select", { name: "user", "aria-label": "Demo user" },
      ...config.users.map((u) => el("option", { value: u.id }, u.name)));
    form = el("form", { method: "post", action: "./signin", class: "signin" }, select,
              el("button", { class: "small", type: "submit", "data-testid": "signin" },
                 "Sign in"));
    box.replaceChildren(form);
  }
  form.addEventListener("submit", switchAccount);
  return config;
}

async function switchAccount(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = new URLSearchParams(new FormData(form));  // before disabling its fields
  for (const control of form.elements) control.disabled = true;
  try {
    // The server answers with a redirect back to the page, which is not needed
    // here: its cookie is what counts.
    await fetch(form.action, { method: "POST", body, redirect: "manual" });
  } catch {
    // The account bar below says whether the server could be reached.
  }
  const config = await renderAccount();
  if (!config) return;
  // The worker page's Python reads this between events: a run stops at the next one.
  if (document.body.dataset.page === "worker") document.body.dataset.cancel = "1";
  const status = document.getElementById("status");
  if (status.dataset.state !== "booting") {  // Python is up, and busy until it says ready
    status.dataset.state = "switching";
    status.textContent = config.user ? `Signing in as ${config.user.name}…` : "Signing out…";
    document.getElementById("generate").disabled = true;
  }
  const changed = document.getElementById("account-changed");
  changed.dataset.user = JSON.stringify(config.user);
  changed.click();
}

// Python normally starts in a few seconds. If the page is still booting after
// SLOW_BOOT_MS, say so beside the boot step (which shows how far it got), and
// what a person can do, rather than leave a bar that seems to have stopped.
const SLOW_BOOT_MS = 30000;

function sayIfBootIsSlow() {
  const status = document.getElementById("status");
  const boot = document.getElementById("boot");
  if (!status || !boot || status.dataset.state !== "booting") return;
  const note = el("span", { class: "boot-slow", "data-testid": "boot-slow" },
    "This is taking longer than usual. If the step above stops changing, reload the page.");
  boot.append(note);
}

addEventListener("DOMContentLoaded", () => {
  setTimeout(sayIfBootIsSlow, SLOW_BOOT_MS);
  renderAccount();
  // The worker page's Python is busy while a run streams, so Cancel is a flag
  // that it reads between events (py/main_worker.py).
  if (document.body.dataset.page === "worker") {
    document.getElementById("cancel").addEventListener("click", () => {
      document.body.dataset.cancel = "1";
    });
  }
});

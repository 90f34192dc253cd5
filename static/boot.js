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
  "Loaded interpreter": "Python started; loading pf_browser",
};

addEventListener("py:progress", ({ detail }) => {
  const bar = document.getElementById("boot-progress");
  const step = document.getElementById("boot-step");
  if (!bar || !step) return;
  bar.value = Math.min(bar.max, bar.value + 1);
  step.textContent = BOOT_WORDS[detail] || detail;
});

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

async function renderAccount() {
  const box = document.getElementById("account");
  let config;
  try {
    config = await (await fetch("./config.json", { cache: "no-store" })).json();
  } catch {
    box.replaceChildren(el("span", { class: "muted" }, "App server unreachable"));
    return;
  }
  if (config.user) {
    box.replaceChildren(
      el("span", { class: "who", "data-testid": "user" }, "Signed in as ",
         el("strong", {}, config.user.name)),
      el("form", { method: "post", action: "./signout" },
         el("button", { class: "link", type: "submit" }, "Sign out")));
  } else {
    const select = el("select", { name: "user", "aria-label": "Demo user" },
      ...config.users.map((u) => el("option", { value: u.id }, u.name)));
    box.replaceChildren(
      el("form", { method: "post", action: "./signin", class: "signin" }, select,
         el("button", { class: "small", type: "submit", "data-testid": "signin" }, "Sign in")));
  }
}

addEventListener("DOMContentLoaded", () => {
  renderAccount();
  // The worker page's Python is busy while a run streams, so Cancel is a flag
  // that it reads between events (py/main_worker.py).
  if (document.body.dataset.page === "worker") {
    document.getElementById("cancel").addEventListener("click", () => {
      document.body.dataset.cancel = "1";
    });
  }
});

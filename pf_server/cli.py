"""``promptfloe-server``: serve the API, manage its keys, and report usage.

::

    promptfloe-server [serve] [--host 127.0.0.1] [--port 8787] [--db .promptfloe/promptfloe.db]
                      [--pace 0.4] [--allow-origin ORIGIN ...] [--quota 1000]
                      [--rate-limit PER_SECOND [--rate-burst N]]
                      [--preview-origin http://{app}.localhost:{port}]
    promptfloe-server keys create [--scopes read,build,deploy] [--quota N] [--origin ORIGIN ...]
                                  [--workspace ID]
    promptfloe-server keys list
    promptfloe-server keys revoke KEY_ID
    promptfloe-server usage [--date YYYY-MM-DD] [--days N] [--json]

The first start on an empty database creates a workspace and a secret key
with every scope, prints the key once and writes ``.promptfloe/dev.env``
(``PROMPTFLOE_API_KEY``, ``PROMPTFLOE_BASE_URL``) for the demo. Later starts
keep the workspace, rewrite only the base URL in dev.env, and with
``--allow-origin`` replace the workspace's browser origins. Only hashes of keys
are stored, so a lost dev.env cannot be rebuilt: a start that finds none makes
a new key for the workspace, prints it once and writes it there.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import cli_usage
from .auth import SCOPES
from .clock import SystemClock
from .previews import DEFAULT_PREVIEW_ORIGIN, PreviewOrigins
from .store import Store, StoreError, Workspace

__all__ = ["main"]

DEFAULT_DB = Path(".promptfloe") / "promptfloe.db"
DEV_ENV = Path(".promptfloe") / "dev.env"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="promptfloe-server", description="The local PromptFloe API server.",
        epilog="`promptfloe-server serve --help`, `promptfloe-server keys --help` and "
               "`promptfloe-server usage --help` list each command's options and their "
               "defaults.")
    sub = parser.add_subparsers(dest="command", required=True)
    defaults = argparse.ArgumentDefaultsHelpFormatter
    serve = sub.add_parser("serve", help="serve the API (the default command)",
                           formatter_class=defaults,
                           description="Serve the PromptFloe API on SQLite.")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    serve.add_argument("--port", type=int, default=8787, help="port to listen on")
    serve.add_argument("--db", default=str(DEFAULT_DB), help="SQLite file, or :memory:")
    serve.add_argument("--pace", type=float, default=0.4,
                       help="seconds before each generated file (0: as fast as possible)")
    serve.add_argument("--allow-origin", action="append", default=argparse.SUPPRESS,
                       metavar="ORIGIN",
                       help="a browser origin allowed to call the API (repeatable); "
                            "replaces the workspace's list (default: keep it)")
    serve.add_argument("--quota", type=int, default=1000,
                       help="daily runs of the workspace made on first start")
    serve.add_argument("--public-url", default=argparse.SUPPRESS,
                       help="the URL browsers reach this server at, behind a proxy (the "
                            "dashboard's origin; default: the URL each request used)")
    serve.add_argument("--preview-origin", default=DEFAULT_PREVIEW_ORIGIN, metavar="TEMPLATE",
                       help="each generated app's own origin, {app} being one DNS label "
                            "per app and {port} this server's port (*.localhost is loopback "
                            "in browsers)")
    serve.add_argument("--rate-limit", type=float, default=0.0, metavar="PER_SECOND",
                       help="requests a second per key or session token, else 429 "
                            "rate_limited (0: no limit)")
    serve.add_argument("--rate-burst", type=int, default=argparse.SUPPRESS, metavar="N",
                       help="requests a credential may send at once (default: the rate)")
    serve.add_argument("--env-file", default=str(DEV_ENV),
                       help="where the first start writes the key and base URL")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug", "trace"],
                       help="uvicorn's log level")

    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", default=str(DEFAULT_DB), help="SQLite file of the server")
    keys = sub.add_parser("keys", help="create, list or revoke secret keys",
                          description="Create, list or revoke secret keys.")
    ksub = keys.add_subparsers(dest="keys_command", metavar="{create,list,revoke}")
    create = ksub.add_parser("create", parents=[db], formatter_class=defaults,
                             help="a new secret key, printed once")
    create.add_argument("--scopes", default=",".join(SCOPES), help="comma-separated scopes")
    create.add_argument("--quota", type=int, default=argparse.SUPPRESS,
                        help="daily runs (a new workspace; default: 1000, or keep the "
                             "workspace's with --workspace)")
    create.add_argument("--origin", action="append", default=argparse.SUPPRESS,
                        metavar="ORIGIN",
                        help="allowed browser origin (repeatable; a new workspace)")
    create.add_argument("--workspace", default=argparse.SUPPRESS,
                        help="add the key to this workspace (default: the first one)")
    ksub.add_parser("list", parents=[db], formatter_class=defaults,
                    help="every key, without secrets")
    revoke = ksub.add_parser("revoke", parents=[db], formatter_class=defaults,
                             help="revoke a key at once (and its sessions)")
    revoke.add_argument("key_id")
    keys.set_defaults(keys_help=keys.format_help)
    cli_usage.add_parser(sub, DEFAULT_DB, defaults)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if not args_in or args_in[0] not in ("serve", "keys", "usage", "-h", "--help"):
        args_in.insert(0, "serve")  # `promptfloe-server --port 8787` serves
    args = _parser().parse_args(args_in)
    # SUPPRESS above keeps "(default: None)" out of the help; these read None.
    for name in ("allow_origin", "public_url", "rate_burst", "quota", "origin", "workspace"):
        if not hasattr(args, name):
            setattr(args, name, None)
    try:
        return _run(args)
    except StoreError as exc:  # one line, no traceback: what is wrong and what to do
        print(f"promptfloe-server: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve(args)
    if args.command == "usage":
        return cli_usage.run(args)
    if args.keys_command is None:  # `promptfloe-server keys`: say what it can do
        print(args.keys_help(), end="")
        return 0
    return keys(args)


def _main_workspace(store: Store) -> Workspace | None:
    found = store.workspaces()
    return found[0] if found else None


def _write_env(path: Path, key: str, base_url: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the key: owner only
    with os.fdopen(fd, "w") as f:
        f.write("# Written by promptfloe-server for the local demo. Keep it secret.\n"
                f"PROMPTFLOE_API_KEY={key}\nPROMPTFLOE_BASE_URL={base_url}\n")


def _update_env_base_url(path: Path, base_url: str) -> None:
    lines = path.read_text().splitlines()
    lines = [f"PROMPTFLOE_BASE_URL={base_url}" if ln.startswith("PROMPTFLOE_BASE_URL=") else ln
             for ln in lines]
    path.write_text("\n".join(lines) + "\n")


def serve(args: argparse.Namespace) -> int:
    if args.rate_limit < 0 or (args.rate_burst is not None and args.rate_burst < 1):
        print("promptfloe-server: --rate-limit must be 0 or more, and --rate-burst 1 or more",
              file=sys.stderr)
        return 2
    try:
        PreviewOrigins(args.preview_origin)
    except ValueError as exc:
        print(f"promptfloe-server: {exc}", file=sys.stderr)
        return 2
    import uvicorn  # only the serve command needs it

    from .app import create_app

    # Listen first: on a port that is taken, say so and change nothing (no
    # key, no dev.env, no origins replaced under the server that holds it).
    try:
        sock = _listen(args.host, args.port)
    except OSError as exc:
        print(f"promptfloe-server: cannot listen on {args.host}:{args.port} "
              f"({exc.strerror or exc}); is another server running there? "
              "Stop it or pass another --port.", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]  # --port 0: the one the system chose
    with sock:
        clock = SystemClock()
        store = Store(args.db)
        now = clock.now()
        base_url = f"http://{args.host}:{port}"
        env_file = Path(args.env_file)
        ws = _main_workspace(store)
        if ws is None or not env_file.is_file():
            if ws is None:
                ws = store.create_workspace(args.quota, args.allow_origin or [], now)
            _, secret = store.create_key(ws.id, SCOPES, now)
            _write_env(env_file, secret, base_url)
            # Printed once, on purpose: only its hash is stored.
            print(f"promptfloe-server: new secret key (all scopes), also in {env_file}:\n"
                  f"  PROMPTFLOE_API_KEY={secret}\n", flush=True)
        else:
            _update_env_base_url(env_file, base_url)
        if args.allow_origin is not None:
            store.update_workspace(ws.id, origins=args.allow_origin)
        app = create_app(store, clock=clock, pace=args.pace, public_url=args.public_url,
                         preview_origin=args.preview_origin,
                         rate_limit=args.rate_limit, rate_burst=args.rate_burst)
        print(f"promptfloe-server: {base_url} (db {args.db}); "
              f"dashboard: {base_url}/dashboard", flush=True)
        config = uvicorn.Config(app, log_level=args.log_level, timeout_graceful_shutdown=3)
        uvicorn.Server(config).run(sockets=[sock])
        store.close()
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), as uvicorn binds one itself.

    The protocol is named, not left at 0: asyncio sets TCP_NODELAY only on
    connections accepted from a socket whose ``proto`` is IPPROTO_TCP. Without
    it, every small response waited out the peer's delayed ACK (~40 ms: 20
    sessions/s one at a time instead of over 1,000; bench_server).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not a live listener's
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def keys(args: argparse.Namespace) -> int:
    store = Store(args.db, read_only=args.keys_command == "list")
    now = SystemClock().now()
    try:
        if args.keys_command == "list":
            print(f"{'id':<37} {'workspace':<36} {'scopes':<18} {'quota':>6}  status  origins")
            for key in store.keys():
                ws = store.workspace(key.workspace_id)
                status = "revoked" if key.revoked_at else "active "
                print(f"{key.id:<37} {key.workspace_id:<36} {','.join(key.scopes):<18} "
                      f"{ws.daily_quota if ws else '-':>6}  {status} "
                      f"{' '.join(ws.allowed_origins) if ws else ''}")
            return 0
        if args.keys_command == "revoke":
            if store.revoke_key(args.key_id, now):
                print(f"revoked {args.key_id}")
                return 0
            print(f"promptfloe-server: no active key {args.key_id}", file=sys.stderr)
            return 1
        return _create_key(store, args, now)
    finally:
        store.close()


def _create_key(store: Store, args: argparse.Namespace, now: float) -> int:
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        print(f"promptfloe-server: scopes are {', '.join(SCOPES)}", file=sys.stderr)
        return 2
    if args.workspace is not None:
        ws = store.workspace(args.workspace)
        if ws is None:
            print(f"promptfloe-server: no workspace {args.workspace}", file=sys.stderr)
            return 1
        store.update_workspace(ws.id, origins=args.origin, daily_quota=args.quota)
    elif args.quota is not None or args.origin is not None:
        ws = store.create_workspace(1000 if args.quota is None else args.quota,
                                    args.origin or [], now)
    else:
        main_ws = _main_workspace(store)
        ws = main_ws or store.create_workspace(1000, [], now)
    key, secret = store.create_key(ws.id, [s for s in SCOPES if s in scopes], now)
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"{key.id} in {ws.id} ({','.join(key.scopes)}), {when}. "
          f"The secret is shown only now:\n{secret}")
    return 0

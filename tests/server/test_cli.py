"""``promptfloe-server``: first start, dev.env, origins on every start, and the keys commands."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pf_server.cli import main
from pf_server.store import Store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_env(path: Path) -> dict[str, str]:
    pairs = (ln.split("=", 1) for ln in path.read_text().splitlines() if "=" in ln)
    return {k: v for k, v in pairs}


def start(tmp_path: Path, port: int, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pf_server", "--port", str(port), "--db", "data/pf.db", *args],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(200):  # bounded: up to ~20 s on a busy machine
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except httpx.TransportError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    pytest.fail(f"the server did not start: {proc.communicate()[0]}")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    out, _ = proc.communicate(timeout=20)
    return out


def test_first_start_prints_a_key_once_writes_dev_env_and_later_starts_update_origins(
        tmp_path: Path) -> None:
    port = free_port()
    first = start(tmp_path, port, "--allow-origin", "http://127.0.0.1:9000")
    env_file = tmp_path / ".promptfloe" / "dev.env"
    env = read_env(env_file)
    key = env["PROMPTFLOE_API_KEY"]
    assert key.startswith("pf_test_")
    assert env["PROMPTFLOE_BASE_URL"] == f"http://127.0.0.1:{port}"
    assert env_file.stat().st_mode & 0o077 == 0  # the owner's only
    preflight = {"Origin": "http://127.0.0.1:9000", "Access-Control-Request-Method": "POST"}
    assert httpx.options(f"http://127.0.0.1:{port}/v1/sessions",
                         headers=preflight).status_code == 204
    assert httpx.get(f"http://127.0.0.1:{port}/v1/usage",
                     headers={"Authorization": f"Bearer {key}"}).status_code == 200
    first_out = stop(first)
    assert first_out.count(key) == 1  # printed once, at first start
    # A later start keeps the workspace and key and takes the new origin instead.
    second = start(tmp_path, port, "--allow-origin", "http://127.0.0.1:9001")
    assert httpx.get(f"http://127.0.0.1:{port}/v1/usage",
                     headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert httpx.options(f"http://127.0.0.1:{port}/v1/sessions", headers={
        **preflight, "Origin": "http://127.0.0.1:9001"}).status_code == 204
    assert httpx.options(f"http://127.0.0.1:{port}/v1/sessions",
                         headers=preflight).status_code == 403
    second_out = stop(second)
    assert key not in second_out and "PROMPTFLOE_API_KEY" not in second_out
    assert read_env(env_file)["PROMPTFLOE_API_KEY"] == key


def test_keys_create_list_and_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "pf.db")
    assert main(["keys", "create", "--db", db, "--scopes", "read,build", "--quota", "5",
                 "--origin", "http://a.test"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("pf_test_")
    store = Store(db)
    key = store.key_by_secret(secret)
    assert key is not None and key.scopes == ("read", "build")
    ws = store.workspace(key.workspace_id)
    assert ws is not None and ws.daily_quota == 5 and ws.allowed_origins == ("http://a.test",)
    store.close()
    assert main(["keys", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    assert key.id in listing and "read,build" in listing and secret not in listing
    assert main(["keys", "revoke", "--db", db, key.id]) == 0
    assert main(["keys", "revoke", "--db", db, key.id]) == 1  # already revoked
    assert main(["keys", "create", "--db", db, "--scopes", "admin"]) == 2
    capsys.readouterr()


def test_serve_rate_limit_answers_429_rate_limited_per_credential(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, port, "--rate-limit", "0.5", "--rate-burst", "1")
    key = read_env(tmp_path / ".promptfloe" / "dev.env")["PROMPTFLOE_API_KEY"]
    usage = [httpx.get(f"http://127.0.0.1:{port}/v1/usage",
                       headers={"Authorization": f"Bearer {key}"}) for _ in range(2)]
    stop(proc)
    assert [answer.status_code for answer in usage] == [200, 429]
    assert usage[1].json()["error"]["code"] == "rate_limited"
    assert usage[1].headers["retry-after"] == "2"


@pytest.mark.parametrize("flags", [["--rate-limit", "-1"],
                                   ["--rate-limit", "5", "--rate-burst", "0"]])
def test_serve_refuses_a_negative_rate_or_an_empty_burst(
        tmp_path: Path, flags: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--db", str(tmp_path / "pf.db"), *flags]) == 2
    assert "--rate-limit" in capsys.readouterr().err
    assert not (tmp_path / "pf.db").exists()  # refused before anything was written


def test_serve_help_shows_each_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for default in ("(default: 127.0.0.1)", "(default: 8787)", "(default: 0.4)",
                    "(default: 1000)", "(default: .promptfloe/promptfloe.db)",
                    "(default: keep it)", "(default: the rate)"):
        assert default in out
    assert "(default: None)" not in out


def test_keys_without_a_subcommand_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys"]) == 0
    out = capsys.readouterr().out
    assert "create" in out and "list" in out and "revoke" in out
    assert "required" not in out


def test_serve_on_a_taken_port_says_so_and_changes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "pf.db"
    env_file = tmp_path / "dev.env"
    store = Store(str(db))
    ws = store.create_workspace(10, ["http://127.0.0.1:9000"], 0.0)
    store.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--db", str(db), "--env-file",
                     str(env_file), "--allow-origin", "http://127.0.0.1:9001"]) == 1
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "another --port" in err
    assert not env_file.exists()  # no new key written
    store = Store(str(db))
    after = store.workspace(ws.id)
    assert after is not None and after.allowed_origins == ("http://127.0.0.1:9000",)
    assert len(store.keys()) == 0
    store.close()


def test_build_py_serve_on_a_taken_port_says_so_before_any_url(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, str(root / "build.py"), "serve", "--api-port", str(port),
             "--app-port", str(free_port()), "--db", str(tmp_path / "pf.db")],
            capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert f"127.0.0.1:{port} is taken" in done.stderr
    assert "PromptFloe API" not in done.stdout  # no URL printed
    assert not (tmp_path / "pf.db").exists()


async def test_connections_to_the_served_socket_send_without_nagle_delay() -> None:
    """serve binds its own socket; connections accepted from it must get
    TCP_NODELAY as uvicorn's own sockets do, or each small response waits out
    the client's delayed ACK (about 40 ms: 20 sessions/s instead of 1,000+)."""
    import asyncio

    from pf_server.cli import _listen

    accepted: asyncio.Queue[int] = asyncio.Queue()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.put_nowait(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    sock = _listen("127.0.0.1", 0)
    server = await asyncio.start_server(on_connect, sock=sock)
    async with server:
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        nodelay = await asyncio.wait_for(accepted.get(), 10)
        writer.close()
    assert nodelay != 0

"""`build.py test` (what CI runs) fails when a test is skipped: a suite that
skips itself for a missing dependency must not pass unnoticed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def run_pytest(folder: Path, forbid: bool, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PF_FORBID_SKIPS"}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # quicker; the hook needs none
    if forbid:
        env["PF_FORBID_SKIPS"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *args, str(folder)], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def suites(tmp_path: Path) -> Path:
    # The hook under test, from the project's own conftest.
    ours = str(TESTS / "conftest.py")
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('pf_conftest', {ours!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "pytest_sessionfinish = module.pytest_sessionfinish\n")
    (tmp_path / "test_needs_a_package.py").write_text(
        "import pytest\npytest.importorskip('no_such_package_pf')\n"
        "def test_a():\n    pass\n")
    (tmp_path / "test_needs_a_browser.py").write_text(
        "import pytest\ndef test_b():\n    pytest.skip('/usr/bin/chromium is missing')\n")
    (tmp_path / "test_fine.py").write_text("def test_c():\n    pass\n")
    return tmp_path


def test_a_skipped_suite_fails_the_run_when_skips_are_forbidden(suites: Path) -> None:
    result = run_pytest(suites, forbid=True)
    assert result.returncode == 1, result.stdout
    assert "2 skipped, and PF_FORBID_SKIPS is set" in result.stdout
    assert "no_such_package_pf" in result.stdout and "chromium is missing" in result.stdout


def test_a_skip_in_a_worker_process_fails_the_run_too(suites: Path) -> None:
    # build.py test runs pytest in worker processes (pytest-xdist): the skips
    # are reported to the controlling process, whose hook fails the run.
    result = run_pytest(suites, True, "-p", "xdist", "-n", "2")
    assert result.returncode == 1, result.stdout
    assert "2 skipped, and PF_FORBID_SKIPS is set" in result.stdout


def test_without_the_flag_a_skip_is_only_reported(suites: Path) -> None:
    result = run_pytest(suites, forbid=False)
    assert result.returncode == 0, result.stdout
    assert "2 skipped" in result.stdout


def test_a_run_without_skips_passes_with_the_flag(suites: Path) -> None:
    (suites / "test_needs_a_package.py").unlink()
    (suites / "test_needs_a_browser.py").unlink()
    assert run_pytest(suites, forbid=True).returncode == 0


def test_build_py_test_forbids_skips() -> None:
    spec = importlib.util.spec_from_file_location("pf_build", TESTS.parent / "build.py")
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.test_env()["PF_FORBID_SKIPS"] == "1"

"""The wheel a browser loads holds pf_browser only, with a RECORD that matches.

The distribution's own wheel also carries the local server (pf_server, for
``pip install "pf_browser[server]"``); build.py cuts the site's wheel from it.
.ci/dists installs the distributions into fresh virtualenvs and runs them.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

import pf_browser

ROOT = Path(__file__).resolve().parents[1]


def load_build_py() -> ModuleType:
    # By path: `import build` is pypa's build.
    spec = importlib.util.spec_from_file_location("pf_build_py", ROOT / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_browser_wheel(path: Path) -> None:
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        tops = {name.split("/")[0] for name in names}
        dist_info = f"pf_browser-{pf_browser.__version__}.dist-info"
        assert tops == {"pf_browser", dist_info}, tops
        assert f"{dist_info}/entry_points.txt" not in names  # no promptfloe-server script
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        assert "\n\n" not in metadata and "Description" not in metadata  # no README
        assert f"\nVersion: {pf_browser.__version__}\n" in metadata
        assert "Provides-Extra" not in metadata and "extra ==" not in metadata
        record = wheel.read(f"{dist_info}/RECORD").decode().splitlines()
        listed = {}
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            listed[name] = (digest, size)
        assert set(listed) == set(names)
        for name in names:
            if name.endswith("/RECORD"):
                continue
            data = wheel.read(name)
            want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert listed[name] == (f"sha256={want.decode()}", str(len(data))), name


def test_browser_only_keeps_pf_browser_and_its_metadata(tmp_path: Path) -> None:
    build_py = load_build_py()
    version = pf_browser.__version__
    dist_info = f"pf_browser-{version}.dist-info"
    full = tmp_path / "full.whl"
    with zipfile.ZipFile(full, "w") as wheel:
        wheel.writestr("pf_browser/__init__.py", "x = 1\n")
        wheel.writestr("pf_browser/_transports/base.py", "y = 2\n")
        wheel.writestr("pf_server/__init__.py", "server = True\n")
        wheel.writestr("pf_server/openapi.json", "{}")
        wheel.writestr(f"{dist_info}/METADATA", (
            f"Metadata-Version: 2.4\nName: pf_browser\nVersion: {version}\n"
            "Requires-Dist: httpx<1,>=0.27; sys_platform != 'emscripten'\n"
            "Provides-Extra: server\n"
            "Requires-Dist: starlette<2,>=0.37; extra == 'server'\n"
            "Description: an old-style description,\n        folded onto a second line\n"
            "Description-Content-Type: text/markdown\n\n"
            "# pf_browser\n\nThe README, as the long description.\n"))
        wheel.writestr(f"{dist_info}/entry_points.txt", "[console_scripts]\n")
        wheel.writestr(f"{dist_info}/licenses/LICENSE", "MIT\n")
        wheel.writestr(f"{dist_info}/RECORD", "stale\n")
    cut = tmp_path / f"pf_browser-{version}-py3-none-any.whl"
    build_py.browser_only(full, cut)
    check_browser_wheel(cut)
    with zipfile.ZipFile(cut) as wheel:
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        assert metadata == (f"Metadata-Version: 2.4\nName: pf_browser\nVersion: {version}\n"
                            "Requires-Dist: httpx<1,>=0.27; sys_platform != 'emscripten'\n")
        assert f"{dist_info}/licenses/LICENSE" in wheel.namelist()


def test_the_sites_wheel_does_not_change_with_the_readme(tmp_path: Path) -> None:
    # Distribution wheels that differ only in their long description (the
    # README) cut to the same bytes: the same cached name for the site.
    build_py = load_build_py()
    version = pf_browser.__version__
    dist_info = f"pf_browser-{version}.dist-info"
    cuts: list[bytes] = []
    for readme in ("# pf_browser\n\nOne README.\n", "# pf_browser\n\nAnother, longer README.\n"):
        full = tmp_path / f"full-{len(cuts)}.whl"
        with zipfile.ZipFile(full, "w") as wheel:
            wheel.writestr("pf_browser/__init__.py", "x = 1\n")
            wheel.writestr(f"{dist_info}/METADATA", (
                f"Metadata-Version: 2.4\nName: pf_browser\nVersion: {version}\n"
                f"Description-Content-Type: text/markdown\n\n{readme}"))
            wheel.writestr(f"{dist_info}/RECORD", "stale\n")
        cut = tmp_path / f"cut-{len(cuts)}" / f"pf_browser-{version}-py3-none-any.whl"
        cut.parent.mkdir()
        build_py.browser_only(full, cut)
        cuts.append(cut.read_bytes())
    assert cuts[0] == cuts[1]


def test_the_sites_wheel_holds_pf_browser_only() -> None:
    site = os.environ.get("PF_SITE")  # set by `build.py test`
    if not site:
        pytest.skip("PF_SITE is not set: `python3 build.py test` sets it")
    wheels = sorted((Path(site) / "wheels").glob("pf_browser-*.whl"))
    assert len(wheels) == 1, wheels
    check_browser_wheel(wheels[0])

"""The demo pages come from one template (static/demo.template.html), one entry
each in static/demo_pages.json, rendered by build.py."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def build_py() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pf_build_py_pages", ROOT / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_listed_page_is_rendered_whole_with_itself_current_in_the_nav() -> None:
    listed = json.loads((ROOT / "static" / "demo_pages.json").read_text())
    pages = build_py().render_pages()
    assert set(pages) == set(listed) and {"index.html", "worker.html"} <= set(pages)
    for name, html in pages.items():
        assert "{{" not in html and "}}" not in html
        current = re.findall(r'<a href="\./([^"]*)" aria-current="page">', html)
        assert current == ["" if name == "index.html" else name]
        for other in listed:  # every page links every other
            assert f'href="./{"" if other == "index.html" else other}"' in html
        assert listed[name]["script"] in html and f'data-page="{listed[name]["page"]}"' in html
    assert 'type="py" worker' in pages["worker.html"]
    for html in pages.values():  # the preview is on the app's own origin: same-origin is its
        assert 'sandbox="allow-scripts allow-forms allow-same-origin"' in html
    assert "worker" not in re.findall(r'<script type="py"[^>]*>', pages["index.html"])[0]


def test_a_placeholder_without_an_entry_stops_the_build(tmp_path: Path) -> None:
    module = build_py()
    (tmp_path / "demo.template.html").write_text("<title>{{title}}</title>{{nav}}")
    (tmp_path / "demo_pages.json").write_text(json.dumps({"index.html": {"nav": "Main"}}))
    setattr(module, "STATIC", tmp_path)  # noqa: B010 (a module loaded by path)
    with pytest.raises(SystemExit, match=r"\{\{title\}\}"):
        module.render_pages()

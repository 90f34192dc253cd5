"""The README's examples that run without a server, run."""

from __future__ import annotations

import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def code_under(heading: str) -> str:
    section = README.split(heading, 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, f"no python block under {heading!r}"
    return found.group(1)


def test_the_mock_transport_example_passes() -> None:
    namespace: dict[str, object] = {}
    exec(code_under("### Test your code without a network"), namespace)
    namespace["test_file_names"]()  # type: ignore[operator]

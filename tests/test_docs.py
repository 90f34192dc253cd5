"""The docs stand alone: no project file points at notes outside the repository,
and every relative link in the Markdown docs leads to a file that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Spelt in pieces, so that this file does not name them itself.
OUTSIDE = [name + ".md" for name in ("API", "BROWSER", "STYLE", "JUPYTERLITE")] + [
    ".." + "/shared", "shared" + "/API"]


def tracked_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [ROOT / n for n in names if (ROOT / n).is_file()]


def test_no_project_file_points_at_notes_users_cannot_see() -> None:
    found = []
    for path in tracked_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{path.relative_to(ROOT)}: {name}" for name in OUTSIDE
                  if re.search(rf"(?<![\w/]){re.escape(name)}", text)]
    assert found == []


def test_relative_links_in_the_docs_lead_somewhere() -> None:
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []

"""``python -m pf_server`` is ``promptfloe-server``."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from .cli import main as cli_main
    except ModuleNotFoundError as exc:
        # pf_browser installed without its server extra: say how to get it.
        if exc.name not in ("starlette", "uvicorn", "jinja2"):
            raise
        print(f"promptfloe-server needs {exc.name}, which comes with the server extra: "
              "pip install 'pf_browser[server]'", file=sys.stderr)
        return 1
    try:
        return cli_main(argv)
    except BrokenPipeError:
        # `promptfloe-server usage | head -3`: the reader left; end quietly, as
        # the Python docs advise (stdout to devnull so the final flush cannot fail).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m pf_demo``: run the demo app server.

Reads the workspace's secret key and the API's URL from the environment
(``PROMPTFLOE_API_KEY``, ``PROMPTFLOE_BASE_URL``), as the local server writes
them to ``.promptfloe/dev.env``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from .app import create_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pf_demo", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--site", default="site", help="the folder build.py assembled")
    parser.add_argument("--ttl-minutes", type=int, default=30)
    parser.add_argument("--public-origin", default=None,
                        help="the origin people open, e.g. https://demo.example (default: "
                             "answer on loopback names only)")
    parser.add_argument("--trust-host-header", action="store_true",
                        help="take the request's Host header as the demo's origin (only "
                             "behind a proxy that sets it)")
    args = parser.parse_args(argv)
    # Our warnings (refused requests, an API that can't be reached) go to stderr.
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    api_key = os.environ.get("PROMPTFLOE_API_KEY")
    base_url = os.environ.get("PROMPTFLOE_BASE_URL")
    if not api_key or not base_url:
        print("pf_demo: set PROMPTFLOE_API_KEY and PROMPTFLOE_BASE_URL "
              "(see .promptfloe/dev.env), or run `python build.py serve`", file=sys.stderr)
        return 2
    app = create_app(api_base_url=base_url, api_key=api_key, site_dir=args.site,
                     ttl_minutes=args.ttl_minutes, public_origin=args.public_origin,
                     trust_host_header=args.trust_host_header)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())

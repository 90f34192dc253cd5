"""schemathesis against /openapi.json on a live server: no 5xx, every answer conforms.

Positive and negative cases for each operation, bounded (``MAX_EXAMPLES``) so
the file runs in seconds; SSE answers are checked event by event against
``StreamEvent``. Calls carry the workspace's secret key, which has
every scope; schemathesis also tries them without it (``ignored_auth``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")

from pf_server.testing import LiveServer  # noqa: E402

# Bounded for the suite; PF_SCHEMATHESIS_EXAMPLES=500 for a deeper run by hand.
MAX_EXAMPLES = int(os.environ.get("PF_SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    with LiveServer(quota=1_000_000) as server:
        yield server


# A request the schema forbids must be refused with a 4xx the contract names:
# 413 is the contract's answer to an over-long prompt (docs/api.md, "Errors").
REJECTED = ["400", "401", "403", "404", "405", "409", "413", "429"]


@pytest.fixture(scope="module")
def api_schema(api: Any) -> Any:
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict({
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
        # Unknown query parameters are ignored by design (openapi.json, info).
        "generation": {"allow-extra-parameters": False},
    })
    return schemathesis.openapi.from_url(api.base_url + "/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_and_never_fails(case: Any, api: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {api.api_key}"}, timeout=30)

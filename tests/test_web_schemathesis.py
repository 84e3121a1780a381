"""Property-based tests of the HTTP API from its own OpenAPI document
(schemathesis): requests generated from the document's schemas, sent to a
real ``klagomal serve``, must never get a 5xx, and every answer must match
the document (content type, and the schema of a documented status).

A few endpoints, as the issue's first step: registering, reading and listing
cases, the worklist, the register list and who is calling.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="pip install schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402
from tests.test_web_server import Server, start_server, stop  # noqa: E402

#: The endpoints generated against (a regular expression on the path).
PATHS = r"^/api/v1/(whoami|cases|cases/\{reference\}|cases/\{reference\}/history|worklist|register)$"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    running = start_server(f"sqlite:///{tmp / 'klagomal.db'}", tmp)
    try:
        yield running
    finally:
        stop(running)


@pytest.fixture(scope="module")
def api_schema(web: Server) -> Any:
    loaded = schemathesis.openapi.from_url(f"{web.base}/api/openapi.json")
    return loaded.include(path_regex=PATHS)


def test_no_generated_request_gets_a_5xx_or_an_answer_unlike_the_document(
    api_schema: Any, web: Server
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6
    headers = {"Authorization": f"Bearer {web.keys['nora.lind']}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(
                base_url=web.base, headers=headers, checks=[not_a_server_error, response_schema_conformance]
            )

        check()

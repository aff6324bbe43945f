"""Schemathesis against the OpenAPI document of the running server (real uvicorn on loopback):
generated valid and invalid requests to every operation must never get a 5xx, every error must be
``{"error": {"code", "message"}}``, and responses must match the document (status codes, content
types, bodies). Tenant operations run with a tenant key, admin operations with the admin key.

``OUTCROP_FUZZ_EXAMPLES`` raises the per-operation example count for a longer run."""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import ADMIN_KEY, Server

EXAMPLES = int(os.environ.get("OUTCROP_FUZZ_EXAMPLES", "25"))


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_: Any, value: Any) -> bytes:
    """The import body: a string as is (lone surrogates become bytes that are not UTF-8), anything
    else as one JSON line."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return (json.dumps(value) + "\n").encode("utf-8")


@pytest.fixture(scope="module")
def api_schema(server: Server) -> Any:
    loaded = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    loaded.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return loaded


@pytest.fixture(scope="module")
def auth_headers(server: Server) -> dict[str, dict[str, str]]:
    client = server.tenant_client("fuzz")
    token = client.headers["Authorization"]
    client.post("/v1/memories", json={"messages": ["I keep bees in Porto.", "My cat is called Pixel."]})
    client.close()
    return {"tenant": {"Authorization": token}, "admin": {"Authorization": f"Bearer {ADMIN_KEY}"}}


def assert_error_shape(response: httpx.Response | Any) -> None:
    """Every error body is exactly {"error": {"code": str, "message": str}}."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, response.text
    assert set(body["error"]) == {"code", "message"}, response.text
    assert isinstance(body["error"]["code"], str) and body["error"]["code"], response.text
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], response.text


# Left out on purpose: positive_data_acceptance (some values valid by the schema are refused by the
# library with a clear 422: a timestamp string that is no date, lone surrogates) and
# negative_data_rejection (it counts e.g. a "negative" boolean false sent as the query string
# user_id=false, a perfectly valid string on the wire). A run with the latter found one real
# issue, repeated query parameters, now refused (see server/query_params.py and test_errors).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str], statuses: Counter[int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing request is printed as is
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers, timeout=60)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
            assert_error_shape(response)
        except Exception as exc:
            raise AssertionError(
                f"{case.as_curl_command(headers=headers)}\n-> {response.status_code} {response.text[:500]}\n{exc}"
            ) from None

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_api_conforms(api_schema: Any, auth_headers: dict[str, dict[str, str]], mode: GenerationMode) -> None:
    failures: list[str] = []
    tried = 0
    statuses: Counter[int] = Counter()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    assert {op.path for op in operations} >= {"/v1/export", "/v1/import", "/v1/timeline"}
    for operation in operations:
        headers = auth_headers["admin" if operation.path.startswith("/v1/admin") else "tenant"]
        try:
            _fuzz(operation, mode, headers, statuses)
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE  # nothing to get wrong, e.g. GET /v1/health
            continue
        except Exception as exc:  # a check failed: collect, fuzz the other operations, report all
            failures.append(f"{operation.label}: {exc}")
        tried += 1
    assert tried >= 15
    print(f"{mode.value}: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    expected = range(200, 300) if mode == GenerationMode.POSITIVE else (400, 404, 405, 413, 422)
    assert sum(n for status, n in statuses.items() if status in expected) >= 3 * tried
    assert not failures, "\n\n".join(failures)

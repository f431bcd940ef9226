"""Fuzz every feature set's routes from the merged OpenAPI document (schemathesis).

A real server with every bundled feature set (``--plugins all``: the
exchange, Vivere, the core services) runs on the test session's database,
seeded with a course, its roster, a release, a submission, feedback, Vivere
locations, an event, an announcement and a ticket. For every operation and
every role (anonymous, an outsider, two students, the instructor, a Vivere
organiser, an admin, a Vivere account's token), schemathesis sends requests
generated from the document, half of them aimed at the seeded objects, and
checks every answer: no 5xx, its status listed, its content type declared,
its body valid against the schema given.

The CI run is bounded (a fixed seed, ``NGSHARE_FUZZ_EXAMPLES`` examples per
operation, role and kind; invalid requests for the roles that reach furthest).
The longer run is documented in docs/reliability.md#fuzzing.
"""

from __future__ import annotations

import warnings

import pytest

from tests.fuzz import driver
from tests.fuzz.server import running

#: The feature sets fuzzed one at a time (each on a freshly seeded server), by tag.
FEATURE_SETS = ["core", "exchange", "vivere", "coursegrab", "ekatra"]


def tagged(spec: dict, tag: str) -> set[tuple[str, str]]:
    """(METHOD, path) of the operations tagged ``tag`` in the document."""
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and tag in op.get("tags", ())
    }


@pytest.fixture
def fuzz_server(db_url, tmp_path):
    with running(db_url, str(tmp_path / "files")) as server:
        yield server


@pytest.mark.parametrize("feature_set", FEATURE_SETS)
def test_every_operation_answers_as_documented(fuzz_server, feature_set):
    selected = tagged(fuzz_server.spec, feature_set)
    assert selected
    outcome = driver.fuzz(
        fuzz_server, list(driver.ROLES), lambda method, path: (method, path) in selected
    )
    # the run reached the server and got past the permission checks somewhere
    assert outcome.requests >= 100, outcome
    assert any(200 <= code < 300 for code in outcome.statuses), outcome.statuses
    for defect, finding in outcome.known:
        message = f"known defect ({defect.reason}): {finding.role} {finding.operation}"
        warnings.warn(message, stacklevel=1)
    report = "\n\n".join(str(f) for f in outcome.findings)
    assert not outcome.findings, (
        f"{len(outcome.findings)} answers do not match the OpenAPI document "
        f"({outcome.requests} requests, {outcome.seconds:.0f} s):\n\n{report}"
    )


def test_the_document_covers_every_feature_set(fuzz_server):
    """The fuzzer sees the exchange's, Vivere's and the core services' operations."""
    schema = driver.load_schema(fuzz_server)
    paths = {op.path for op in driver.operations(schema, lambda m, p: True)}
    for expected in (
        "/api/courses",
        "/api/submission/{course_id}/{assignment_id}",
        "/api/vivere/admin/events/{event_id}",
        "/api/jobs",
        "/api/tokens/{token_id}",
    ):
        assert expected in paths
    # every operation lists the refusals every route can give
    for item in fuzz_server.spec["paths"].values():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert "400" in op["responses"], (method, op["summary"])

"""Workloads ``bigfile`` and ``limit``: one large file through release and fetch.

``bigfile`` releases one incompressible file of the given size and fetches it
back as a student, recording time and the server's peak RSS for each step
(run each size on a fresh server, so the peak belongs to that size alone).

``limit`` releases a file whose request body exceeds the server's body limit
and records exactly what comes back. A good answer is a JSON 413 sent
promptly; ngshare 0.6 (Tornado's default 100 MiB ``max_body_size``) answers an
empty 400 and drops the connection. Either way it is a result, not a crash.
"""

from __future__ import annotations

import json

from benchmarks import payloads
from benchmarks.checks import envelope, verify_files
from benchmarks.httpclient import ApiClient, Response
from benchmarks.metrics import Phase, PhaseResult, ProcWatch
from benchmarks.payloads import Blob

MIB = 1 << 20
ASSIGNMENT = "big"
ADMIN, INSTRUCTOR, STUDENT = "root", "instructor1", "student0001"


async def setup_course(api: ApiClient, course: str) -> None:
    """A course with one instructor and one student (not measured)."""
    r = await api.post(f"course/{course}", ADMIN, {"instructors": json.dumps([INSTRUCTOR])})
    if envelope(r) is None:
        raise RuntimeError(f"could not create the course: {r.describe()}")
    roster = [{"username": STUDENT, "first_name": "A", "last_name": "B", "email": "a@b.c"}]
    r = await api.post(f"students/{course}", INSTRUCTOR, {"students": json.dumps(roster)})
    if envelope(r) is None:
        raise RuntimeError(f"could not enrol the student: {r.describe()}")


def _answer_notes(r: Response) -> dict:
    try:
        doc = r.json()
        is_json = True
    except ValueError:
        doc, is_json = None, False
    return {
        "status": r.status,
        "json": is_json,
        "content_type": r.content_type,
        "message": doc.get("message") if isinstance(doc, dict) else None,
        "body_start": r.body[:120].decode("utf-8", "replace") if not is_json else None,
        "transport_error": r.error,
    }


async def run_bigfile(
    api: ApiClient, size: int, watch: ProcWatch | None, hooks=None, seed: int = 7
) -> list[PhaseResult]:
    """Release then fetch one file of ``size`` bytes; two phases."""
    label = f"{size // MIB}MiB" if size % MIB == 0 else f"{size}B"
    course = f"big-{label}"
    await setup_course(api, course)
    blob = Blob("data/big.bin", payloads.random_bytes(size, seed))
    field = payloads.files_field([blob])
    rss_before = watch.rss_mib() if watch else None
    with Phase(f"release_{label}", watch, hooks) as ph:
        r = await api.post(f"assignment/{course}/{ASSIGNMENT}", INSTRUCTOR, raw={"files": field})
        released = envelope(r) is not None
        ph.record(r, sent=len(field), ok=released)
    ph.result.notes.update(
        size_mib=size / MIB,
        body_mib=len(field) / MIB,
        rss_before_mib=rss_before,
        **_answer_notes(r),
    )
    del field
    results = [ph.result]
    rss_before = watch.rss_mib() if watch else None
    with Phase(f"fetch_{label}", watch, hooks) as ph:
        if released:
            r = await api.get(f"assignment/{course}/{ASSIGNMENT}", STUDENT)
            doc = envelope(r)
            n, problems = verify_files(doc, [blob]) if doc else (0, [])
            ph.result.verified_files += n
            ph.record(
                r, ok=doc is not None and not problems, problem=problems[0] if problems else None
            )
            ph.result.notes.update(_answer_notes(r) if doc is None else {"status": r.status})
        else:
            ph.result.notes["skipped"] = "release was refused"
    ph.result.notes.update(size_mib=size / MIB, rss_before_mib=rss_before)
    results.append(ph.result)
    return results


async def run_limit_probe(
    api: ApiClient, size: int, watch: ProcWatch | None, hooks=None, limit: int | None = None
) -> list[PhaseResult]:
    """Release a file whose body is over the limit; ok means a JSON 413."""
    course = "over-limit"
    await setup_course(api, course)
    field = payloads.files_field([Blob("data/too-big.bin", payloads.random_bytes(size, 11))])
    with Phase("over_limit", watch, hooks) as ph:
        r = await api.post(f"assignment/{course}/{ASSIGNMENT}", INSTRUCTOR, raw={"files": field})
        notes = _answer_notes(r)
        ph.record(
            r,
            sent=len(field),
            ok=r.status == 413 and notes["json"],
            problem=f"expected a JSON 413, got {notes}",
        )
    ph.result.notes.update(
        size_mib=size / MIB,
        body_mib=len(field) / MIB,
        server_limit_mib=limit / MIB if limit else None,
        **notes,
    )
    return [ph.result]

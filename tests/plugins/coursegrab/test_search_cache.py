"""Anonymous searches from memory: same answers; changes seen at once here, in time elsewhere."""

from __future__ import annotations

import pytest
from ngshare_coursegrab.config import CourseGrab
from ngshare_coursegrab.models import Section
from ngshare_coursegrab.search_cache import SearchCache
from sqlalchemy import update

from ngshare.plugin_api import utcnow
from tests.waiting import eventually

from .conftest import TERM

QUERIES = ("cs 3110", "CS3110", "cs", "3110", "linear", "PHYS 1112", "nothing like it", "%_")


async def anonymous(cg, query: str) -> list[dict]:
    return (await cg.call("POST", "courses/search", json_body={"query": query})).data["courses"]


def section_of(courses: list[dict], catalog_num: int) -> dict:
    [section] = [s for c in courses for s in c["sections"] if s["catalog_num"] == catalog_num]
    return section


@pytest.mark.gen_test
async def test_answers_from_memory_match_the_database(cg, server):
    cache = server.state(CourseGrab)
    cache.search_cache_enabled = False
    expected = {q: await anonymous(cg, q) for q in QUERIES}
    ranked = [c["subject_code"] + str(c["course_num"]) for c in expected["cs"]]
    assert ranked == ["CS2110", "CS3110", "PHYS1112"]  # the subject first, then "PHYSICS"
    cache.search_cache_enabled = True
    memory = server.state(SearchCache)
    for query in QUERIES:
        assert await anonymous(cg, query) == expected[query], query
    hits = memory.hits
    for query in QUERIES:  # the second time, every answer comes from memory
        assert await anonymous(cg, query) == expected[query], query
    assert memory.hits == hits + len(QUERIES)


@pytest.mark.gen_test
async def test_the_setting_turns_it_off(cg, server):
    server.state(CourseGrab).search_cache_enabled = False
    memory = server.state(SearchCache)
    for _ in range(3):
        await anonymous(cg, "cs 3110")
    assert memory.hits == 0 and memory.fills == 0


@pytest.mark.gen_test
async def test_tracking_here_is_seen_at_once(cg, server):
    server.state(SearchCache).seconds = 3600  # only this server's own changes can show
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["num_tracking"] == 0
    token = (await cg.sign_in("ada@cornell.edu", "WEB"))["session_token"]
    await cg.call("POST", "sections/track", json_body={"course_id": 12403}, token=token)
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["num_tracking"] == 1
    await cg.call("POST", "sections/untrack", json_body={"course_id": 12403}, token=token)
    assert section_of(await anonymous(cg, "cs"), 12403)["num_tracking"] == 0


@pytest.mark.gen_test
async def test_a_poll_and_a_new_roster_here_are_seen_at_once(cg, server, roster):
    server.state(SearchCache).seconds = 3600
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "CLOSED"
    roster.set_status(TERM, 12403, "OPEN")
    await cg.poll()
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "OPEN"
    roster.add_roster("FA26", "Fall 2026")
    roster.add_class("FA26", "ECE", 2300, "Digital Logic", [(20001, "LEC", "001", "OPEN")])
    await cg.ingest()
    assert await anonymous(cg, "cs 3110") == []
    [course] = await anonymous(cg, "ece")
    assert course["title"] == "Digital Logic"


async def change_elsewhere(server, catalog_num: int, status: str) -> None:
    """What another replica's poll writes (this process is not told)."""

    def write(session):
        session.execute(
            update(Section)
            .where(Section.catalog_num == catalog_num)
            .values(status=status, updated_at=utcnow())
        )

    await server.db.run(write)


async def opened_elsewhere_once_cached(cg, server, seconds: float) -> SearchCache:
    """12403 (CLOSED) in memory with that ``search_cache_seconds``, then opened elsewhere."""
    memory = server.state(SearchCache)
    memory.seconds = seconds
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "CLOSED"
    await change_elsewhere(server, 12403, "OPEN")
    return memory


@pytest.mark.gen_test
async def test_another_replicas_change_is_seen_after_search_cache_seconds(cg, server):
    memory = await opened_elsewhere_once_cached(cg, server, 3600)
    # within the window the answer may be stale: that is the documented trade
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "CLOSED"
    memory.seconds = 0  # the window is over: the next search syncs
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "OPEN"
    await change_elsewhere(server, 12403, "WAITLISTED")
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "WAITLISTED"


@pytest.mark.gen_test
async def test_signed_in_searches_never_use_it(cg, server):
    memory = server.state(SearchCache)
    token = (await cg.sign_in("ada@cornell.edu", "WEB"))["session_token"]
    await cg.call("POST", "sections/track", json_body={"course_id": 12401}, token=token)
    for _ in range(2):
        reply = await cg.call("POST", "courses/search", json_body={"query": "cs 3110"}, token=token)
        assert section_of(reply.data["courses"], 12401)["is_tracking"] is True
    assert memory.hits == 0 and memory.fills == 0


@pytest.mark.gen_test
async def test_ranked_answers_are_kept_bounded_and_equal_to_ranking_anew(cg, server):
    from ngshare_coursegrab.course_index import CourseIndex
    from ngshare_coursegrab.models import Term
    from sqlalchemy import select

    kept, fresh = CourseIndex(memo_size=2), CourseIndex()

    def both(session, compact):
        term = session.execute(select(Term.pk, Term.loaded_at).where(Term.is_current)).one()
        return [
            index.search(session, term.pk, term.loaded_at, compact, 50) for index in (kept, fresh)
        ]

    for compact in ("CS", "3110", "CS", "LINEAR", "CS3110", "CS"):
        answer, expected = await server.db.run(both, compact)
        assert answer == expected and answer, compact
    assert 1 <= len(kept._snapshot.answers) <= 2
    assert fresh._snapshot.answers == {}


@pytest.mark.gen_test
async def test_syncs_after_a_new_roster_keep_the_texts_it_made(cg, server):
    memory = server.state(SearchCache)
    # the start-up ingest's sync, the first, made every course's text from sections
    # stamped just now; the syncs below read those stamps and must not drop the texts
    memory.seconds = 0  # every search syncs again
    for query in ("cs", "math", "cs 3110", "physics"):
        assert await anonymous(cg, query), query
    assert memory.fills == 4 and memory.made == 0  # nothing was dropped and made again


def age_by(memory: SearchCache, seconds: float) -> None:
    """As if the last sync had been ``seconds`` earlier."""
    memory._synced_at -= seconds


@pytest.mark.gen_test
async def test_a_track_here_has_its_text_made_again_in_the_background(cg, server):
    memory = server.state(SearchCache)
    memory.seconds = 3600
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["num_tracking"] == 0
    made = memory.made
    token = (await cg.sign_in("ada@cornell.edu", "WEB"))["session_token"]
    await cg.call("POST", "sections/track", json_body={"course_id": 12403}, token=token)
    await eventually(lambda: memory.made > made, what="the text made again")
    hits, fills = memory.hits, memory.fills
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["num_tracking"] == 1
    assert (memory.hits, memory.fills) == (hits + 1, fills)  # from memory, no database call


@pytest.mark.gen_test
async def test_a_due_sync_runs_in_the_background_while_memory_answers(cg, server):
    memory = await opened_elsewhere_once_cached(cg, server, 60)
    age_by(memory, 90)  # due (60 s) but still usable (under 120 s)
    syncs, fills = memory.syncs, memory.fills
    # answered at once from memory: the change may not show yet (the documented window)
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "CLOSED"
    await eventually(lambda: memory.syncs > syncs, what="the background sync")
    hits = memory.hits
    # the sync dropped the changed course and made its text again: still from memory
    assert section_of(await anonymous(cg, "cs 3110"), 12403)["status"] == "OPEN"
    assert (memory.hits, memory.fills) == (hits + 1, fills)
    assert memory.syncs == syncs + 1


@pytest.mark.gen_test
async def test_a_burst_after_a_quiet_while_waits_for_one_sync(cg, server):
    import asyncio

    memory = server.state(SearchCache)
    memory.seconds = 60
    for query in QUERIES:
        await anonymous(cg, query)
    await change_elsewhere(server, 12403, "OPEN")
    age_by(memory, 600)  # too old to answer from
    syncs, fills, hits = memory.syncs, memory.fills, memory.hits
    answers = await asyncio.gather(*(anonymous(cg, "cs 3110") for _ in range(12)))
    assert all(section_of(a, 12403)["status"] == "OPEN" for a in answers)  # none stale
    assert memory.syncs == syncs + 1  # one sync for all of them
    assert (memory.fills, memory.hits) == (fills, hits + 12)  # no database call each


class ChangingWhileRead:
    """A session that runs ``change()`` just before its first statement (a race, staged)."""

    def __init__(self, session, change) -> None:
        self._session, self._change = session, change

    def __getattr__(self, name):
        return getattr(self._session, name)

    def _first(self):
        if self._change is not None:
            change, self._change = self._change, None
            change()

    def execute(self, *args, **kwargs):
        self._first()
        return self._session.execute(*args, **kwargs)

    def scalars(self, *args, **kwargs):
        self._first()
        return self._session.scalars(*args, **kwargs)


@pytest.mark.gen_test
async def test_a_sync_that_began_before_an_expiry_does_not_count(cg, server):
    memory = server.state(SearchCache)
    memory.seconds = 3600
    await anonymous(cg, "cs 3110")
    await server.db.run(lambda session: memory.sync(ChangingWhileRead(session, memory.expire)))
    syncs = memory.syncs
    await anonymous(cg, "cs 3110")
    assert memory.syncs == syncs + 1  # the expiry still stands: this search synced first


@pytest.mark.gen_test
async def test_a_text_read_before_its_course_changed_is_not_kept(cg, server):
    from ngshare_coursegrab.models import Course
    from sqlalchemy import select

    memory = server.state(SearchCache)
    memory.seconds = 3600
    await anonymous(cg, "cs 3110")
    [course_pk] = await server.db.run(
        lambda s: list(s.scalars(select(Course.pk).where(Course.course_num == 3110)))
    )
    memory.forget([course_pk])
    # the remake reads; meanwhile the course changes again: what it read is not kept
    await server.db.run(
        lambda s: memory.remake(ChangingWhileRead(s, lambda: memory.forget([course_pk])))
    )
    assert course_pk not in memory._texts and course_pk in memory._to_remake
    await server.db.run(memory.remake)
    assert course_pk in memory._texts and not memory._to_remake

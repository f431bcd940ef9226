"""Where courses and statuses come from: the :class:`RosterSource` interface, two kinds.

* :class:`HttpRosterSource` speaks the Cornell Class Roster API
  (``c.CourseGrab.roster_url``): ``config/rosters.json``,
  ``config/subjects.json?roster=X``, ``search/classes.json?roster=X&subject=Y``,
  each answering ``{"status": "success", "data": {...}}``.
* :class:`JsonFileRosterSource` reads one JSON file (``c.CourseGrab.roster_file``).

Both give a :class:`Roster` that has been checked completely before anyone
writes it: a source that answers badly raises :class:`RosterError`, and the
last good data stays as it is.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

#: Cornell's ``openStatus`` letters.
OPEN_STATUS = {"O": "OPEN", "C": "CLOSED", "W": "WAITLISTED"}
#: Cornell's ``instructionMode`` codes, when no description comes with them.
MODES = {"P": "In Person", "OL": "Online", "HY": "Hybrid", "IS": "Independent Studies"}
_SUBJECT_RE = re.compile(r"^[A-Z][A-Z0-9]{0,15}$")
_TERM_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MAX_INT = 2**31 - 1


class RosterError(Exception):
    """The source answered badly (unreachable, an error, or not a roster); nothing was written."""


@dataclass(frozen=True)
class SectionData:
    catalog_num: int
    section: str
    status: str
    mode: str | None = None
    instructors: tuple[str, ...] = ()


@dataclass
class CourseData:
    subject_code: str
    course_num: int
    title: str
    sections: list[SectionData] = field(default_factory=list)


@dataclass
class Roster:
    """One term's courses and sections, as a source gave them."""

    term: str
    description: str
    courses: list[CourseData]

    def statuses(self) -> dict[int, str]:
        """catalog number -> status."""
        return {s.catalog_num: s.status for c in self.courses for s in c.sections}


class RosterSource:
    """The interface: the newest term, and a term's roster."""

    async def newest_term(self) -> tuple[str, str]:
        """``(slug, description)`` of the newest roster."""
        raise NotImplementedError

    async def fetch(self, term: str) -> Roster:
        """Every course and section of ``term``."""
        raise NotImplementedError


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise RosterError(f"{what} must be an integer, not {value!r}")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or not 0 <= value <= _MAX_INT:
        raise RosterError(f"{what} must be a non-negative integer, not {value!r}")
    return value


def _text(value: Any, what: str, limit: int = 255, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise RosterError(f"{what} must be a non-empty string, not {value!r}")
    if "\x00" in value:
        raise RosterError(f"{what} holds a NUL character")
    return value.strip()[:limit]


def _subject(value: Any) -> str:
    subject = _text(value, "subject").upper()
    if not _SUBJECT_RE.match(subject):
        raise RosterError(f"not a subject code: {subject!r}")
    return subject


def check_term(value: Any) -> str:
    term = _text(value, "roster")
    if not _TERM_RE.match(term):
        raise RosterError(f"not a roster name: {term!r}")
    return term


def _dedupe(courses: list[CourseData]) -> list[CourseData]:
    """Merge a course listed twice; keep a class number listed twice (a cross-listing) once."""
    by_key: dict[tuple[str, int], CourseData] = {}
    seen: set[int] = set()
    for course in courses:
        key = (course.subject_code, course.course_num)
        kept = by_key.get(key)
        if kept is None:
            kept = by_key[key] = CourseData(course.subject_code, course.course_num, course.title)
        for section in course.sections:
            if section.catalog_num not in seen:
                seen.add(section.catalog_num)
                kept.sections.append(section)
    return list(by_key.values())


# -- the Cornell Class Roster API ---------------------------------------------------------


def _clock(value: str) -> str:
    """``01:10PM`` -> ``1:10pm`` (how the seed's section strings write times)."""
    value = value.strip().lower()
    return value[1:] if value.startswith("0") else value


def cornell_section(raw: Any) -> SectionData:
    """A ``classSections`` entry as a :class:`SectionData`."""
    if not isinstance(raw, dict):
        raise RosterError("a class section must be an object")
    catalog_num = _int(raw.get("classNbr"), "classNbr")
    component = _text(raw.get("ssrComponent"), "ssrComponent", 16)
    number = _text(raw.get("section"), "section", 16)
    meetings = raw.get("meetings") or []
    if not isinstance(meetings, list):
        raise RosterError("meetings must be a list")
    when = "TBA"
    instructors: list[str] = []
    for meeting in meetings:
        if not isinstance(meeting, dict):
            raise RosterError("a meeting must be an object")
        pattern, start, end = (meeting.get(k) or "" for k in ("pattern", "timeStart", "timeEnd"))
        if when == "TBA" and isinstance(pattern, str) and pattern and pattern != "TBA" and start:
            when = f"{pattern} {_clock(str(start))}" + (f" - {_clock(str(end))}" if end else "")
        for person in meeting.get("instructors") or []:
            if not isinstance(person, dict):
                raise RosterError("an instructor must be an object")
            name = f"{person.get('firstName', '')} {person.get('lastName', '')}".strip()
            netid = person.get("netid")
            label = f"{name} ({netid})" if netid else name
            if label and label not in instructors:
                instructors.append(label[:255])
    status = OPEN_STATUS.get(str(raw.get("openStatus", "")).strip().upper(), "INVALID")
    mode = raw.get("instrModeDescr") or MODES.get(str(raw.get("instructionMode", "")))
    return SectionData(
        catalog_num=catalog_num,
        section=f"{component} {number} / {when}",
        status=status,
        mode=mode[:64] if isinstance(mode, str) else None,
        instructors=tuple(instructors),
    )


def cornell_course(raw: Any) -> CourseData:
    """A ``classes`` entry as a :class:`CourseData`."""
    if not isinstance(raw, dict):
        raise RosterError("a class must be an object")
    groups = raw.get("enrollGroups") or []
    if not isinstance(groups, list):
        raise RosterError("enrollGroups must be a list")
    sections = []
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("classSections", []), list):
            raise RosterError("an enroll group must be an object with a classSections list")
        sections += [cornell_section(s) for s in group.get("classSections", [])]
    return CourseData(
        subject_code=_subject(raw.get("subject")),
        course_num=_int(raw.get("catalogNbr"), "catalogNbr"),
        title=_text(raw.get("titleLong") or raw.get("titleShort"), "titleLong"),
        sections=sections,
    )


class HttpRosterSource(RosterSource):
    """The Cornell Class Roster API (or anything speaking its shape) at ``base_url``."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        subjects: list[str] | None = None,
        min_interval: float = 0.0,
        concurrency: int = 4,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.subjects = [s.upper() for s in subjects or []]
        self.min_interval = min_interval
        self._slots = asyncio.Semaphore(1 if min_interval > 0 else concurrency)

    async def _get(self, path: str, **params: str) -> dict[str, Any]:
        url = f"{self.base_url}/{path}" + ("?" + urlencode(params) if params else "")
        request = HTTPRequest(url, request_timeout=self.timeout, connect_timeout=self.timeout)
        async with self._slots:
            try:
                response = await AsyncHTTPClient().fetch(request, raise_error=False)
            finally:
                if self.min_interval > 0:
                    await asyncio.sleep(self.min_interval)
        if response.code == 599:
            raise RosterError(f"{path}: unreachable ({response.error})")
        try:
            body = json.loads(response.body)
        except (ValueError, TypeError):
            raise RosterError(f"{path}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise RosterError(f"{path}: the answer is not an object")
        if body.get("status") != "success" or not isinstance(body.get("data"), dict):
            message = body.get("message") if isinstance(body.get("message"), str) else ""
            raise RosterError(f"{path}: the source answered {response.code} {message[:200]}")
        return body["data"]

    async def newest_term(self) -> tuple[str, str]:
        data = await self._get("config/rosters.json")
        rosters = data.get("rosters")
        if not isinstance(rosters, list) or not rosters:
            raise RosterError("config/rosters.json: no rosters")
        newest = rosters[-1]
        if not isinstance(newest, dict):
            raise RosterError("config/rosters.json: a roster must be an object")
        return check_term(newest.get("slug")), _text(newest.get("descr"), "descr", required=False)

    async def _subjects(self, term: str) -> list[str]:
        if self.subjects:
            return self.subjects
        data = await self._get("config/subjects.json", roster=term)
        subjects = data.get("subjects")
        if not isinstance(subjects, list):
            raise RosterError("config/subjects.json: no subjects list")
        return [_subject(s.get("value") if isinstance(s, dict) else None) for s in subjects]

    async def _classes(self, term: str, subject: str) -> list[CourseData]:
        data = await self._get("search/classes.json", roster=term, subject=subject)
        classes = data.get("classes")
        if not isinstance(classes, list):
            raise RosterError(f"search/classes.json {subject}: no classes list")
        return [cornell_course(c) for c in classes]

    async def fetch(self, term: str) -> Roster:
        check_term(term)
        subjects = await self._subjects(term)
        per_subject = await asyncio.gather(*(self._classes(term, s) for s in subjects))
        courses = _dedupe([c for group in per_subject for c in group])
        if not any(c.sections for c in courses):
            raise RosterError(f"roster {term} has no sections")
        return Roster(term=term, description="", courses=courses)


# -- a JSON file --------------------------------------------------------------------------


def parse_roster_document(doc: Any) -> Roster:
    """The JSON roster file's content as a :class:`Roster` (see docs/coursegrab.md)."""
    if not isinstance(doc, dict):
        raise RosterError("a roster file holds a JSON object")
    courses_raw = doc.get("courses")
    if not isinstance(courses_raw, list):
        raise RosterError("courses must be a list")
    courses = []
    for raw in courses_raw:
        if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list):
            raise RosterError("a course must be an object with a sections list")
        sections = []
        for s in raw["sections"]:
            if not isinstance(s, dict):
                raise RosterError("a section must be an object")
            status = _text(s.get("status"), "status", 16).upper()
            if status not in ("OPEN", "CLOSED", "WAITLISTED"):
                raise RosterError(f"status must be OPEN, CLOSED or WAITLISTED, not {status!r}")
            instructors = s.get("instructors") or []
            if not isinstance(instructors, list) or not all(
                isinstance(i, str) for i in instructors
            ):
                raise RosterError("instructors must be a list of strings")
            mode = s.get("mode")
            sections.append(
                SectionData(
                    catalog_num=_int(s.get("catalog_num"), "catalog_num"),
                    section=_text(s.get("section"), "section"),
                    status=status,
                    mode=_text(mode, "mode", 64) if mode is not None else None,
                    instructors=tuple(i[:255] for i in instructors),
                )
            )
        courses.append(
            CourseData(
                subject_code=_subject(raw.get("subject_code")),
                course_num=_int(raw.get("course_num"), "course_num"),
                title=_text(raw.get("title"), "title"),
                sections=sections,
            )
        )
    courses = _dedupe(courses)
    if not any(c.sections for c in courses):
        raise RosterError("the roster has no sections")
    return Roster(
        term=check_term(doc.get("term")),
        description=_text(doc.get("description"), "description", required=False),
        courses=courses,
    )


class JsonFileRosterSource(RosterSource):
    """A roster in one JSON file, read again at each ingest and poll."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    async def _read(self) -> Roster:
        try:
            text = await asyncio.get_running_loop().run_in_executor(None, self.path.read_text)
            doc = json.loads(text)
        except (OSError, ValueError) as e:
            raise RosterError(f"{self.path}: {e}") from None
        return parse_roster_document(doc)

    async def newest_term(self) -> tuple[str, str]:
        roster = await self._read()
        return roster.term, roster.description

    async def fetch(self, term: str) -> Roster:
        roster = await self._read()
        if roster.term != term:
            raise RosterError(f"{self.path} holds roster {roster.term}, not {term}")
        return roster

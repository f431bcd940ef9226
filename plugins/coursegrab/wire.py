"""The seed's objects: a section and a course as clients read them."""

from __future__ import annotations

import json
from typing import Any

from ngshare_coursegrab.models import Course, Section


def instructors_of(section: Section) -> list[str]:
    try:
        value = json.loads(section.instructors or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def section_json(section: Section, course: Course, is_tracking: bool) -> dict[str, Any]:
    """``{catalog_num, course_id, course_num, instructors, is_tracking, mode, num_tracking,
    section, status, subject_code, title}``."""
    return {
        "catalog_num": section.catalog_num,
        "course_id": course.pk,
        "course_num": course.course_num,
        "instructors": instructors_of(section),
        "is_tracking": is_tracking,
        "mode": section.mode,
        "num_tracking": section.num_tracking,
        "section": section.section,
        "status": section.status,
        "subject_code": course.subject_code,
        "title": course.title,
    }


def course_json(course: Course, sections: list[Section], tracked: set[int]) -> dict[str, Any]:
    """``{id, subject_code, course_num, title, sections}``; ``tracked``: pks the caller tracks."""
    return {
        "course_num": course.course_num,
        "id": course.pk,
        "sections": [section_json(s, course, s.pk in tracked) for s in sections],
        "subject_code": course.subject_code,
        "title": course.title,
    }


def section_label(section: Section) -> str:
    """``LEC 001 / TR 12:20pm`` -> ``LEC 001`` (what notification titles name)."""
    return section.section.split(" / ")[0].strip()

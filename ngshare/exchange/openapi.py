"""OpenAPI description of the exchange's routes (relative to its mount: the bare prefix)."""

from __future__ import annotations

FILES_DOWNLOAD = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["path", "checksum"],
        "properties": {
            "path": {"type": "string"},
            "checksum": {"type": "string", "description": "md5 of the bytes"},
            "content": {"type": "string", "contentEncoding": "base64"},
        },
    },
}
PERSON = {
    "type": "object",
    "properties": {k: {"type": ["string", "null"]} for k in ("first_name", "last_name", "email")}
    | {"username": {"type": "string"}},
}
TIMESTAMP = {"type": "string", "examples": ["2026-11-26 07:03:21.123456 UTC"]}


#: Ids (course, assignment, student, instructor) become directories on clients' disks:
#: 1 to 255 bytes of UTF-8, not "." or "..", no "/", "\\" or NUL (else 400 Illegal ... id).
ID = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[^/\\\x00]+$",
    "not": {"enum": [".", ".."]},
}


def _param(name: str, where: str = "path", required: bool = True, desc: str = "") -> dict:
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": ID if where == "path" else {"type": "string"},
        "description": desc
        or (
            'An id: 1 to 255 bytes of UTF-8, not "." or "..", no "/", "\\" or NUL.'
            if where == "path"
            else ""
        ),
    }


ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
#: What each refusal means; an operation lists the ones it can give.
REFUSALS = {
    "400": "A missing or malformed field (the message names it)",
    "403": "Permission denied (not admin / not course instructor / not related to course)",
    "404": "Course, assignment, student, instructor or submission not found",
    "409": "Already exists (course, assignment), or an instructor added as a student",
    "413": "Too many files (at most c.Exchange.max_files_per_upload, 10,000 by default), "
    "or a body over c.NgShare.max_body_bytes",
}


def _op(
    summary: str,
    who: str,
    fields: dict | None = None,
    form: dict | None = None,
    query: list[str] = (),
    errors: str = "",
    codes: str = "400 403 404",
) -> dict:
    """One operation: its success body, its form fields and every refusal it can give.

    The core adds 401 (no caller), 413 (a body over the limit) and the 400 of a
    query string or form body with too many fields.
    """
    op: dict = {
        "summary": summary,
        "description": f"Who: {who}. Errors (in order): {errors or 'none'}.",
        "responses": {
            "200": {
                "description": "success",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"success": {"const": True}, **(fields or {})},
                        }
                    }
                },
            },
            **{code: {"description": REFUSALS[code], "content": ERROR} for code in codes.split()},
        },
    }
    if query:
        op["parameters"] = [_param(q, "query", False) for q in query]
    if form:
        op["requestBody"] = {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": form,
                    }
                }
            }
        }
    return op


def _path_params(*names: str) -> list[dict]:
    return [_param(n) for n in names]


FILES_FIELD = {"type": "string", "description": 'JSON: [{"path", "content" (base64)}]'}
NAMES = {k: {"type": "string"} for k in ("first_name", "last_name", "email")}
FILE_ERRORS = (
    "Please supply files, Files cannot be JSON decoded, Illegal path, "
    "Content cannot be base64 decoded"
)

PATHS: dict[str, dict] = {
    "/courses": {
        "get": _op(
            "List the caller's courses (admins: all)",
            "anyone",
            {"courses": {"type": "array", "items": {"type": "string"}}},
            codes="",
        ),
    },
    "/course/{course_id}": {
        "parameters": _path_params("course_id"),
        "post": _op(
            "Create a course",
            "admins",
            form={"instructors": {"type": "string"}},
            errors="not admin, Course already exists, Instructors cannot be JSON decoded",
            codes="400 403 409",
        ),
        "delete": _op(
            "Delete a course (restorable until purged)",
            "admins",
            errors="not admin, Course not found",
        ),
    },
    "/instructor/{course_id}/{instructor_id}": {
        "parameters": _path_params("course_id", "instructor_id"),
        "get": _op(
            "An instructor's names",
            "course members",
            PERSON["properties"],
            errors="Course not found, not related, Instructor not found",
        ),
        "post": _op(
            "Add or update an instructor",
            "admins; an instructor for themself",
            form=NAMES,
            errors="Course not found, not course instructor, "
            "Please supply first name/last name/email, cannot modify (other) instructors",
        ),
        "delete": _op(
            "Remove an instructor",
            "admins",
            errors="not admin, Course not found, Instructor not found",
        ),
    },
    "/instructors/{course_id}": {
        "parameters": _path_params("course_id"),
        "get": _op(
            "List instructors",
            "course members",
            {"instructors": {"type": "array", "items": PERSON}},
        ),
    },
    "/student/{course_id}/{student_id}": {
        "parameters": _path_params("course_id", "student_id"),
        "get": _op("A student's names", "instructors; the student", PERSON["properties"]),
        "post": _op(
            "Add or update a student",
            "instructors",
            form=NAMES,
            errors="..., Cannot add instructor as student",
            codes="400 403 404 409",
        ),
        "delete": _op("Remove a student (submissions stay)", "instructors"),
    },
    "/students/{course_id}": {
        "parameters": _path_params("course_id"),
        "get": _op(
            "List students", "instructors", {"students": {"type": "array", "items": PERSON}}
        ),
        "post": _op(
            "Enrol students in bulk",
            "instructors",
            {"status": {"type": "array", "items": {"type": "object"}}},
            form={"students": {"type": "string"}},
            errors="Please supply students, Students cannot be JSON decoded, "
            "Incorrect request format",
        ),
    },
    "/assignments/{course_id}": {
        "parameters": _path_params("course_id"),
        "get": _op(
            "List assignments in release order",
            "course members",
            {"assignments": {"type": "array", "items": {"type": "string"}}},
        ),
    },
    "/assignment/{course_id}/{assignment_id}": {
        "parameters": _path_params("course_id", "assignment_id"),
        "get": _op(
            "Fetch an assignment", "course members", {"files": FILES_DOWNLOAD}, query=["list_only"]
        ),
        "post": _op(
            "Release an assignment",
            "instructors",
            form={"files": FILES_FIELD},
            errors="Assignment already exists, " + FILE_ERRORS,
            codes="400 403 404 409 413",
        ),
        "delete": _op("Delete an assignment and hide its submissions", "instructors"),
    },
    "/submissions/{course_id}/{assignment_id}": {
        "parameters": _path_params("course_id", "assignment_id"),
        "get": _op("List all submissions", "instructors", {"submissions": {"type": "array"}}),
    },
    "/submissions/{course_id}/{assignment_id}/{student_id}": {
        "parameters": _path_params("course_id", "assignment_id", "student_id"),
        "get": _op(
            "List one student's submissions",
            "instructors; the student",
            {"submissions": {"type": "array"}},
        ),
    },
    "/submission/{course_id}/{assignment_id}": {
        "parameters": _path_params("course_id", "assignment_id"),
        "post": _op(
            "Submit",
            "course members",
            {"timestamp": TIMESTAMP},
            form={"files": FILES_FIELD},
            errors=FILE_ERRORS,
            codes="400 403 404 413",
        ),
    },
    "/submission/{course_id}/{assignment_id}/{student_id}": {
        "parameters": _path_params("course_id", "assignment_id", "student_id"),
        "get": _op(
            "Collect a submission (latest without timestamp)",
            "instructors",
            {"timestamp": TIMESTAMP, "files": FILES_DOWNLOAD},
            query=["timestamp", "list_only"],
            errors="..., Submission not found",
        ),
    },
    "/feedback/{course_id}/{assignment_id}/{student_id}": {
        "parameters": _path_params("course_id", "assignment_id", "student_id"),
        "get": _op(
            "Fetch feedback",
            "instructors; the student",
            {"timestamp": TIMESTAMP, "files": FILES_DOWNLOAD},
            query=["timestamp", "list_only"],
            errors="Please supply timestamp, Time format incorrect, Submission not found",
        ),
        "post": _op(
            "Upload feedback (replaces earlier feedback)",
            "instructors",
            form={"timestamp": TIMESTAMP, "files": FILES_FIELD},
            errors="Please supply timestamp, Time format incorrect, "
            "Submission not found, " + FILE_ERRORS,
            codes="400 403 404 413",
        ),
    },
}

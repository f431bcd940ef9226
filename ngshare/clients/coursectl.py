"""``ngshare-course``: manage courses and rosters through the API, as an admin or instructor.

Examples::

    ngshare-course create-course phys101 kevin lisa        # admins
    ngshare-course import-students phys101 roster.csv      # instructors
    ngshare-course students phys101 --json

Enrolling students also adds them to the local nbgrader gradebook (the one
nbgrader opens from the current folder), as LibreTexts'
``ngshare-course-management`` does; ``--no-gb`` skips that. Its command names
(``create_course``, ``add_students`` ...), its ``-f/-l/-e`` name options and its
roster header (``student_id,first_name,last_name,email``) are accepted too.

It acts with the caller's JupyterHub token (``--token`` or
``$JUPYTERHUB_API_TOKEN``) on ``--url`` (default ``$NGSHARE_URL``, else the
hub's ngshare service). ``--dev-user`` acts as a user on ``vngshare``.
Exit status: 0 on success, 1 when the server refused anything (its message
is printed) or the gradebook could not be used, 2 for a usage error. A bulk
import reports each row and exits 1 if any row failed. Enrolling and the
gradebook updates are idempotent: after a failure, run the command again.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ngshare.clients import gradebook
from ngshare.clients.api import ExchangeApiError, ExchangeClient, default_url

PERSON_COLUMNS = ("username", "first_name", "last_name", "email")
#: Roster header names for the username: ours, and ngshare-course-management's.
USERNAME_COLUMNS = ("username", "student_id")
#: ngshare-course-management's command names -> ours.
ALIASES = {
    "create-course": ["create_course"],
    "add-instructor": ["add_instructor"],
    "remove-instructor": ["remove_instructor"],
    "add-student": ["add_student"],
    "remove-student": ["remove_students", "remove-students"],
    "import-students": ["add_students", "add-students"],
}


class UsageError(Exception):
    """A problem with the command line or an input file (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ngshare-course",
        description="Manage ngshare courses, instructors and students.",
    )
    parser.add_argument("--url", help="ngshare API URL (default: $NGSHARE_URL or the hub's)")
    parser.add_argument("--token", help="JupyterHub API token (default: $JUPYTERHUB_API_TOKEN)")
    parser.add_argument("--dev-user", help="vngshare only: act as this user (user=...)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds (default 120)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        aliases = ALIASES.get(name, [])
        return sub.add_parser(name, help=help, description=help, aliases=aliases)

    def names(p: argparse.ArgumentParser) -> None:
        p.add_argument("-f", "--first-name", "--first_name", dest="first_name", default="")
        p.add_argument("-l", "--last-name", "--last_name", dest="last_name", default="")
        p.add_argument("-e", "--email", default="")

    def no_gb(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "--no-gb", action="store_true", help=f"do not {what} the local nbgrader gradebook"
        )

    command("courses", "list your courses (admins: all)")
    p = command("create-course", "create a course (admins)")
    p.add_argument("course")
    p.add_argument("instructors", nargs="*", metavar="INSTRUCTOR", help="usernames")
    p = command("delete-course", "delete a course with everything in it (admins)")
    p.add_argument("course")
    p = command("add-instructor", "add an instructor, or update their names (admins)")
    p.add_argument("course")
    p.add_argument("username")
    names(p)
    p = command("remove-instructor", "remove an instructor from a course (admins)")
    p.add_argument("course")
    p.add_argument("username")
    p = command("add-student", "enrol students, or update their names")
    p.add_argument("course")
    p.add_argument("usernames", nargs="+", metavar="USERNAME")
    names(p)
    no_gb(p, "add them to")
    p = command("remove-student", "remove students from a course (their submissions stay)")
    p.add_argument("course")
    p.add_argument("usernames", nargs="+", metavar="USERNAME")
    no_gb(p, "remove them from")
    p.add_argument(
        "--force",
        action="store_true",
        help="remove them from the gradebook even if that deletes their grades",
    )
    p = command(
        "import-students",
        "enrol students from a CSV file with a header row: username,first_name,last_name,email"
        " (or student_id instead of username)",
    )
    p.add_argument("course")
    p.add_argument("csv_file", metavar="CSV", help="file name, or - for standard input")
    no_gb(p, "add them to")
    for name, what in (
        ("students", "list a course's students"),
        ("instructors", "list a course's instructors"),
        ("assignments", "list a course's assignments"),
    ):
        command(name, what).add_argument("course")
    p = command("submissions", "list the submissions of an assignment")
    p.add_argument("course")
    p.add_argument("assignment")
    p.add_argument("--student", help="only this student's")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status (also the console script's)."""
    args = build_parser().parse_args(argv)
    out = Output(args.json)
    try:
        url = args.url or default_url()
        if not url:
            raise UsageError("no ngshare URL: pass --url or set NGSHARE_URL")
        client = ExchangeClient(
            url,
            token=args.token,
            dev_user=args.dev_user,
            timeout=args.timeout,
        )
        return COMMANDS[CANONICAL.get(args.command, args.command)](client, args, out)
    except UsageError as e:
        print(f"ngshare-course: error: {e}", file=sys.stderr)
        return 2
    except gradebook.GradebookError as e:
        print(f"ngshare-course: error: {e}", file=sys.stderr)
        return 1
    except ExchangeApiError as e:
        print(f"ngshare-course: error: {e.message}", file=sys.stderr)
        return 1


class Output:
    """Tables for people, JSON (``--json``) for scripts."""

    def __init__(self, as_json: bool, stream: TextIO | None = None) -> None:
        self.as_json = as_json
        self.stream = stream

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout)

    def data(self, value: Any, columns: Sequence[str], rows: Sequence[dict] | None = None) -> None:
        """Print ``value`` as JSON, or ``rows`` (default ``value``) as a table."""
        if self.as_json:
            self._print(json.dumps(value, indent=2))
        else:
            self._print(table(rows if rows is not None else value, columns))

    def done(self, message: str, value: dict | None = None) -> None:
        if self.as_json:
            self._print(json.dumps({"success": True, **(value or {})}))
        else:
            self._print(message)


def table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Left-aligned columns with a header; '(none)' for no rows."""
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [columns, ["-" * w for w in widths], *cells]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# -- commands ------------------------------------------------------------------


def cmd_courses(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    courses = client.list_courses()
    out.data(courses, ["course"], [{"course": c} for c in courses])
    return 0


def cmd_create_course(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    client.create_course(args.course, args.instructors)
    who = f" taught by {', '.join(args.instructors)}" if args.instructors else ""
    out.done(f"Created course {args.course}{who}", {"course": args.course})
    return 0


def cmd_delete_course(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    client.delete_course(args.course)
    out.done(f"Deleted course {args.course}", {"course": args.course})
    return 0


def cmd_add_instructor(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    client.add_instructor(args.course, args.username, args.first_name, args.last_name, args.email)
    out.done(f"{args.username} is an instructor of {args.course}", {"username": args.username})
    return 0


def cmd_remove_instructor(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    client.remove_instructor(args.course, args.username)
    out.done(f"Removed instructor {args.username} from {args.course}", {"username": args.username})
    return 0


def cmd_add_student(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    if len(args.usernames) == 1:
        client.add_student(
            args.course, args.usernames[0], args.first_name, args.last_name, args.email
        )
        out.done(f"Enrolled {args.usernames[0]} in {args.course}", {"username": args.usernames[0]})
        person = {
            "username": args.usernames[0],
            "first_name": args.first_name,
            "last_name": args.last_name,
            "email": args.email,
        }
        return 0 if args.no_gb else to_gradebook(args.course, [person], out)
    if args.first_name or args.last_name or args.email:
        raise UsageError("names and email can be given for one student at a time")
    rows = [{"username": u, "first_name": "", "last_name": "", "email": ""} for u in args.usernames]
    return enrol(client, args.course, rows, out, add_to_gradebook=not args.no_gb)


def cmd_remove_student(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    results = []
    for username in args.usernames:
        try:
            client.remove_student(args.course, username)
            results.append({"username": username, "success": True, "message": "removed"})
        except ExchangeApiError as e:
            results.append({"username": username, "success": False, "message": e.message})
    out.data(results, ["username", "success", "message"])
    status = 0 if all(r["success"] for r in results) else 1
    if args.no_gb:
        return status
    removed = [r["username"] for r in results if r["success"]]
    if not removed:
        return status
    kept = gradebook.remove_students(args.course, removed, args.force)
    return max(status, report_gradebook(kept, out))


def cmd_import_students(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    rows, labels, problems = read_roster(args.csv_file)
    return enrol(client, args.course, rows, out, labels, problems, add_to_gradebook=not args.no_gb)


def to_gradebook(course: str, people: list[dict[str, str]], out: Output) -> int:
    """Add enrolled ``people`` to the local gradebook and report it."""
    if not people:
        return 0
    return report_gradebook(gradebook.add_students(course, people), out)


def report_gradebook(results: list[gradebook.GradebookResult], out: Output) -> int:
    """One line per student on standard error (standard output stays the server's answer)."""
    if not out.as_json:
        for r in results:
            print(f"gradebook: {r.username}: {r.message}", file=sys.stderr)
    return 0 if all(r.success for r in results) else 1


def enrol(
    client: ExchangeClient,
    course: str,
    rows: list[dict[str, str]],
    out: Output,
    labels: list[str] | None = None,
    problems: list[dict] | None = None,
    add_to_gradebook: bool = False,
) -> int:
    """Bulk-enrol ``rows``; report one line per row, labelled by ``labels`` (CSV lines).

    ``problems`` are rows refused before sending. The server answers with
    one status per row, in order. With ``add_to_gradebook``, the rows the server
    accepted are then added to the local nbgrader gradebook.
    """
    results = list(problems or [])
    enrolled: list[dict[str, str]] = []
    if rows:
        statuses = client.add_students(course, rows)
        if len(statuses) != len(rows):
            raise ExchangeApiError(f"ngshare sent {len(statuses)} statuses for {len(rows)} rows")
        for i, (row, status) in enumerate(zip(rows, statuses, strict=True)):
            ok = bool(status.get("success"))
            if ok:
                enrolled.append(row)
            result = {
                "username": row["username"],
                "success": ok,
                "message": "enrolled" if ok else status.get("message", ""),
            }
            if labels is not None:
                result = {"row": labels[i], **result}
            results.append(result)
    columns = ["username", "success", "message"]
    if labels is not None:
        results.sort(key=lambda r: _row_order(r["row"]))
        columns.insert(0, "row")
    out.data(results, columns)
    failed = sum(not r["success"] for r in results)
    if failed and not out.as_json:
        print(f"{failed} of {len(results)} row(s) failed", file=sys.stderr)
    status = 1 if failed else 0
    if add_to_gradebook:
        status = max(status, to_gradebook(course, enrolled, out))
    return status


def _row_order(label: str) -> tuple[int, str]:
    return (int(label), "") if label.isdigit() else (0, label)


def read_roster(name: str) -> tuple[list[dict[str, str]], list[str], list[dict]]:
    """Rows of a roster CSV, their line labels, and the rows refused before sending.

    Columns are matched by header name (any order; extra columns are
    ignored); missing name/email columns count as empty. The username
    column is ``username`` or, as in ngshare-course-management's rosters,
    ``student_id``. A row without a username is reported, not sent.
    """
    try:
        fh = sys.stdin if name == "-" else open(name, newline="", encoding="utf-8-sig")
    except OSError as e:
        raise UsageError(f"cannot read {name}: {e.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        present = [c for c in USERNAME_COLUMNS if c in header]
        if len(present) != 1:
            raise UsageError(
                f"{name}: the header row must name one of the columns 'username' or 'student_id'"
            )
        reader.fieldnames = ["username" if h == present[0] else h for h in header]
        rows, labels, problems = [], [], []
        for record in reader:
            line = str(reader.line_num)
            entry = {c: (record.get(c) or "").strip() for c in PERSON_COLUMNS}
            if not entry["username"]:
                problems.append(
                    {"row": line, "username": "", "success": False, "message": "no username"}
                )
                continue
            rows.append(entry)
            labels.append(line)
    if not rows and not problems:
        raise UsageError(f"{name}: no students in the file")
    return rows, labels, problems


def cmd_students(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    out.data(client.list_students(args.course), PERSON_COLUMNS)
    return 0


def cmd_instructors(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    out.data(client.list_instructors(args.course), PERSON_COLUMNS)
    return 0


def cmd_assignments(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    names = client.list_assignments(args.course)
    out.data(names, ["assignment"], [{"assignment": a} for a in names])
    return 0


def cmd_submissions(client: ExchangeClient, args: argparse.Namespace, out: Output) -> int:
    entries = client.list_submissions(args.course, args.assignment, args.student)
    out.data(entries, ["student_id", "timestamp"])
    return 0


COMMANDS = {
    "courses": cmd_courses,
    "create-course": cmd_create_course,
    "delete-course": cmd_delete_course,
    "add-instructor": cmd_add_instructor,
    "remove-instructor": cmd_remove_instructor,
    "add-student": cmd_add_student,
    "remove-student": cmd_remove_student,
    "import-students": cmd_import_students,
    "students": cmd_students,
    "instructors": cmd_instructors,
    "assignments": cmd_assignments,
    "submissions": cmd_submissions,
}

#: every alias -> its command
CANONICAL = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


if __name__ == "__main__":
    sys.exit(main())

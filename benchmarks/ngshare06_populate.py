"""Build a large ngshare 0.6.0 installation with ngshare 0.6.0's own code (for import06.py).

Run with the Python of the ngshare 0.6 venv (servers.py creates it)::

    .venv-ngshare/bin/python ngshare06_populate.py DATA_DIR STUDENTS ASSIGNMENTS SUBMISSIONS KB

Driving 9,000 submissions through ngshare 0.6's HTTP API would take minutes
of the benchmark for nothing it measures, so the rows are made with ngshare
0.6's models (``ngshare.database``) on a schema made by its alembic
migrations (``ngshare.dbutil.upgrade``), and each file is written into its
storage folder under a fresh UUID name, as its ``json_files_unpack`` does.
One course: an instructor, STUDENTS students, ASSIGNMENTS releases of one
notebook each, SUBMISSIONS submissions per student and assignment (a
notebook of KB KiB and a small data file each), feedback on the latest.
No ngshare code is copied: it is imported from its venv.
"""

from __future__ import annotations

import datetime
import os
import sys
import uuid


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    data_dir, students, assignments, submissions, kb = sys.argv[1:6]
    students, assignments, submissions, kb = map(int, (students, assignments, submissions, kb))

    from ngshare.database import Assignment, Course, File, StudentAssociation, Submission, User
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    from ngshare import dbutil

    url = f"sqlite:///{os.path.join(data_dir, 'ngshare.db')}"
    storage = os.path.join(data_dir, "files")
    os.makedirs(storage, exist_ok=True)
    dbutil.upgrade(url)
    db = sessionmaker(bind=create_engine(url))()

    def stored(name: str, content: bytes) -> File:
        actual = str(uuid.uuid4()) + os.path.splitext(name)[1]
        with open(os.path.join(storage, actual), "wb") as f:
            f.write(content)
        return File(name, content, actual)

    def notebook(tag: str) -> bytes:
        body = (tag + " ").encode() * (kb * 1024 // (len(tag) + 1) + 1)
        return b'{"cells": [{"source": "' + body[: kb * 1024] + b'"}]}'

    instructor = User("instructor")
    course = Course("big-course", [instructor])
    db.add(course)
    people = [User(f"student{i:04d}") for i in range(students)]
    for user in people:
        course.students.append(user)
    db.flush()
    for i, user in enumerate(people):
        a = StudentAssociation.find(db, user, course)
        a.first_name, a.last_name, a.email = f"First{i}", f"Last{i}", f"s{i}@example.org"
    db.commit()
    start = datetime.datetime(2026, 1, 5, 9, 0, 0)
    tick = 0
    for n in range(assignments):
        assignment = Assignment(f"ps{n + 1:02d}", course)
        db.add(assignment)
        assignment.files.append(stored(f"ps{n + 1:02d}.ipynb", notebook(f"release {n}")))
        for user in people:
            for k in range(submissions):
                s = Submission(user, assignment)
                tick += 1
                s.timestamp = start + datetime.timedelta(seconds=tick, microseconds=tick)
                db.add(s)
                s.files.append(stored(f"ps{n + 1:02d}.ipynb", notebook(f"{user.id} {n} {k}")))
                s.files.append(stored("data/answers.csv", f"{user.id},{n},{k}\n".encode()))
                if k == submissions - 1:
                    html = f"<html><body>feedback for {user.id} on {n}</body></html>" * 40
                    s.feedbacks.append(stored(f"ps{n + 1:02d}.html", html.encode()))
        db.commit()
    db.close()


if __name__ == "__main__":
    main()

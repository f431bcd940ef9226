"""``ngshare-course`` for people coming from LibreTexts' ngshare: their roster header,
command names and gradebook habit, and their stock ``ngshare-course-management``
reading a config written by :func:`ngshare.clients.nbgrader.configure`."""

from __future__ import annotations

import os
import subprocess

import pytest

from ngshare.clients.coursectl import main
from tests.conftest import own_pg_schema
from tests.servers import running_server

nbgrader_api = pytest.importorskip("nbgrader.api")


@pytest.fixture(scope="module")
def server_database(db_url):
    """``--database`` for this module's vngshare: its own SQLite, or its own PostgreSQL schema."""
    if not db_url.startswith("postgresql"):
        yield None
        return
    with own_pg_schema("compat") as url:
        yield url


@pytest.fixture(scope="module")
def api_url(tmp_path_factory, server_database):
    """A vngshare on this run's kind of database (the PostgreSQL pass keeps these tests)."""
    args = [f"--database={server_database}"] if server_database else []
    with running_server(tmp_path_factory.mktemp("vngshare"), *args) as base:
        yield base + "/api/"


@pytest.fixture
def ctl(api_url, capsys, tmp_path, monkeypatch):
    """``ctl(user, *args)`` -> (exit status, stdout, stderr), in a course folder of its own."""
    monkeypatch.chdir(tmp_path)

    def run(user: str, *args: str) -> tuple[int, str, str]:
        status = main(["--url", api_url, "--token", "", "--dev-user", user, *args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def gradebook_students(folder, course: str) -> dict[str, tuple]:
    """username -> (first, last, email) as nbgrader's Gradebook holds them."""
    with nbgrader_api.Gradebook(f"sqlite:///{folder}/gradebook.db", course) as gb:
        return {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}


def test_libretexts_roster_header_imports_and_fills_the_gradebook(ctl, tmp_path):
    ctl("root", "create-course", "compat1", "kevin")
    roster = tmp_path / "students.csv"
    roster.write_text(
        "student_id,first_name,last_name,email\n"
        "alice,Alice,Adams,alice@x.org\n"
        "kevin,Kevin,K,kevin@x.org\n"
        "bob,,,\n"
    )
    status, out, err = ctl("kevin", "add_students", "compat1", str(roster))
    assert status == 1  # kevin teaches the course: refused by the server
    assert "Cannot add instructor as student" in out
    assert "gradebook: alice: in gradebook" in err
    # only the students the server enrolled, with their names
    assert gradebook_students(tmp_path, "compat1") == {
        "alice": ("Alice", "Adams", "alice@x.org"),
        "bob": (None, None, None),
    }


def test_no_gb_leaves_the_gradebook_alone(ctl, tmp_path):
    ctl("root", "create-course", "compat2", "kevin")
    roster = tmp_path / "students.csv"
    roster.write_text("student_id,first_name,last_name,email\ncarol,Carol,C,c@x.org\n")
    assert ctl("kevin", "import-students", "compat2", str(roster), "--no-gb")[0] == 0
    assert ctl("kevin", "add-student", "compat2", "dan", "--no-gb")[0] == 0
    assert not (tmp_path / "gradebook.db").exists()
    assert "carol" in ctl("kevin", "students", "compat2")[1]


def test_libretexts_command_names_and_name_options(ctl, tmp_path):
    assert ctl("root", "create_course", "compat3", "kevin")[0] == 0
    assert ctl("root", "add_instructor", "compat3", "lisa", "-f", "Lisa", "-e", "l@x.org")[0] == 0
    assert "Lisa" in ctl("kevin", "instructors", "compat3")[1]
    assert ctl("root", "remove_instructor", "compat3", "lisa")[0] == 0
    status, _, err = ctl("kevin", "add_student", "compat3", "erin", "-f", "Erin", "-l", "E")
    assert (status, err) == (0, "gradebook: erin: in gradebook\n")
    assert gradebook_students(tmp_path, "compat3") == {"erin": ("Erin", "E", None)}
    status, out, err = ctl("kevin", "remove_students", "compat3", "erin")
    assert status == 0 and "removed" in out
    assert err == "gradebook: erin: removed from gradebook\n"
    assert gradebook_students(tmp_path, "compat3") == {}
    assert "erin" not in ctl("kevin", "students", "compat3")[1]


def test_removing_a_graded_student_needs_force(ctl, tmp_path):
    ctl("root", "create-course", "compat4", "kevin")
    ctl("kevin", "add-student", "compat4", "fay")
    url = f"sqlite:///{tmp_path}/gradebook.db"
    with nbgrader_api.Gradebook(url, "compat4") as gb:
        gb.add_assignment("ps1")
        gb.add_submission("ps1", "fay")
    status, _, err = ctl("kevin", "remove-student", "compat4", "fay", "--no-gb")
    assert status == 0 and err == ""
    ctl("kevin", "add-student", "compat4", "fay", "--no-gb")
    status, _, err = ctl("kevin", "remove-student", "compat4", "fay")
    assert status == 1 and "has graded submissions: kept" in err
    assert "fay" in gradebook_students(tmp_path, "compat4")
    ctl("kevin", "add-student", "compat4", "fay", "--no-gb")
    assert ctl("kevin", "remove-student", "compat4", "fay", "--force")[0] == 0
    assert gradebook_students(tmp_path, "compat4") == {}


def test_roster_naming_both_username_columns_is_a_usage_error(ctl, tmp_path):
    ctl("root", "create-course", "compat5", "kevin")
    roster = tmp_path / "both.csv"
    roster.write_text("username,student_id\na,b\n")
    status, out, err = ctl("kevin", "import-students", "compat5", str(roster))
    assert (status, out) == (2, "")
    assert "'username' or 'student_id'" in err
    assert ctl("kevin", "students", "compat5")[1] == "(none)\n"


def test_gradebook_from_the_course_folders_nbgrader_config(ctl, tmp_path):
    """The gradebook is the one nbgrader would open: CourseDirectory.root from the config."""
    course_root = tmp_path / "elsewhere"
    course_root.mkdir()
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course_root)!r}\n"
    )
    ctl("root", "create-course", "compat6", "kevin")
    assert ctl("kevin", "add-student", "compat6", "gus")[0] == 0
    assert gradebook_students(course_root, "compat6") == {"gus": (None, None, None)}


def test_an_unusable_gradebook_is_one_clear_error_after_enrolling(ctl, tmp_path):
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{tmp_path}/no/such/folder/gradebook.db'\n"
    )
    ctl("root", "create-course", "compat7", "kevin")
    status, out, err = ctl("kevin", "add-student", "compat7", "hal")
    assert (status, out) == (1, "Enrolled hal in compat7\n")
    assert err.startswith("ngshare-course: error: cannot use the gradebook sqlite:///")
    assert "Traceback" not in err
    # the server's part is done; --no-gb (or a usable gradebook) finishes the job
    assert "hal" in ctl("kevin", "students", "compat7")[1]


@pytest.mark.integration
def test_stock_course_management_reads_the_url_configure_sets(api_url, tmp_path, ctl):
    """LibreTexts' ngshare-course-management with an nbgrader_config.py using configure()."""
    from tests.integration.stock_client import stock_client_bin

    stock = stock_client_bin() / "ngshare-course-management"
    (tmp_path / "nbgrader_config.py").write_text(
        "from ngshare.clients.nbgrader import configure\n"
        f"configure(get_config(), url={api_url!r})\n"
    )
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # the stock client's venv reads our package from the checkout; vngshare identifies by user=
    env = {**os.environ, "PYTHONPATH": repo, "JUPYTERHUB_USER": "root"}
    env.pop("JUPYTERHUB_API_TOKEN", None)
    env.pop("NGSHARE_URL", None)
    done = subprocess.run(
        [str(stock), "create_course", "stock1", "kevin"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Cannot determine ngshare URL" not in done.stdout
    assert "Successfully created stock1" in done.stdout
    status, out, _ = ctl("kevin", "--json", "courses")
    assert status == 0 and "stock1" in out

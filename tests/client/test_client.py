"""ngshare.clients.api against a real vngshare, plus its wire details and file helpers."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from urllib.parse import parse_qs, urlsplit

import pytest

from ngshare.clients.api import (
    ExchangeApiError,
    ExchangeClient,
    UnsafePathError,
    default_url,
    encode_bytes,
    encode_directory,
    write_files,
)
from tests.servers import free_port


def files(contents: dict[str, bytes]) -> list[dict[str, str]]:
    return [encode_bytes(path, data) for path, data in contents.items()]


class TestAgainstVngshare:
    def test_courses_and_rosters_round_trip(self, client_for, course):
        root, kevin = client_for("root"), client_for("kevin")
        assert course in root.list_courses()
        assert kevin.list_courses() == [course]
        kevin.add_instructor(course, "kevin", "Kevin", "K", "kevin@x.org")
        assert kevin.get_instructor(course, "kevin") == {
            "username": "kevin",
            "first_name": "Kevin",
            "last_name": "K",
            "email": "kevin@x.org",
        }
        assert [s["username"] for s in kevin.list_students(course)] == ["alice", "bob"]
        kevin.add_student(course, "carol", "Carol", "C", "carol@x.org")
        assert client_for("carol").get_student(course, "carol")["first_name"] == "Carol"
        kevin.remove_student(course, "carol")
        root.add_instructor(course, "lisa")
        assert [i["username"] for i in kevin.list_instructors(course)] == ["kevin", "lisa"]
        root.remove_instructor(course, "lisa")
        status = kevin.add_students(
            course,
            [
                {"username": "dan", "first_name": "", "last_name": "", "email": ""},
                {"username": "kevin", "first_name": "", "last_name": "", "email": ""},
            ],
        )
        assert status == [
            {"username": "dan", "success": True},
            {"username": "kevin", "success": False, "message": "Cannot add instructor as student"},
        ]
        root.delete_course(course)
        assert course not in root.list_courses()

    def test_release_submit_collect_and_feedback(self, client_for, course):
        kevin, alice = client_for("kevin"), client_for("alice")
        kevin.release_assignment(course, "ps1", files({"p1.ipynb": b"{}", "data/x.csv": b"1,2\n"}))
        assert alice.list_assignments(course) == ["ps1"]
        listed = alice.get_assignment(course, "ps1", list_only=True)
        assert [(f["path"], "content" in f) for f in listed] == [
            ("p1.ipynb", False),
            ("data/x.csv", False),
        ]
        assert listed[1]["checksum"] == hashlib.md5(b"1,2\n").hexdigest()
        fetched = alice.get_assignment(course, "ps1")
        assert base64.b64decode(fetched[1]["content"]) == b"1,2\n"

        first = alice.submit(course, "ps1", files({"p1.ipynb": b"first"}))
        second = alice.submit(course, "ps1", files({"p1.ipynb": b"second"}))
        assert first < second
        assert kevin.list_submissions(course, "ps1") == [
            {"student_id": "alice", "timestamp": first},
            {"student_id": "alice", "timestamp": second},
        ]
        assert alice.list_submissions(course, "ps1", "alice")[0]["timestamp"] == first
        latest = kevin.get_submission(course, "ps1", "alice")
        assert latest["timestamp"] == second
        older = kevin.get_submission(course, "ps1", "alice", timestamp=first)
        assert base64.b64decode(older["files"][0]["content"]) == b"first"

        kevin.upload_feedback(course, "ps1", "alice", first, files({"p1.html": b"<p>ok</p>"}))
        feedback = alice.get_feedback(course, "ps1", "alice", first)
        assert base64.b64decode(feedback["files"][0]["content"]) == b"<p>ok</p>"
        listed = alice.get_feedback(course, "ps1", "alice", first, list_only=True)["files"]
        assert listed == [{"path": "p1.html", "checksum": hashlib.md5(b"<p>ok</p>").hexdigest()}]
        assert alice.get_feedback(course, "ps1", "alice", second)["files"] == []

        kevin.delete_assignment(course, "ps1")
        assert alice.list_assignments(course) == []

    def test_failures_carry_the_servers_message_and_status(self, client_for, course):
        with pytest.raises(ExchangeApiError) as e:
            client_for("kevin").create_course("other")
        assert (e.value.message, e.value.status) == ("Permission denied (not admin)", 403)
        assert e.value.request == "POST /course/other"
        with pytest.raises(ExchangeApiError) as e:
            client_for("alice").get_assignment(course, "missing")
        assert (str(e.value), e.value.status) == ("Assignment not found", 404)
        client_for("kevin").release_assignment(course, "ps1", [])
        with pytest.raises(ExchangeApiError, match="^Assignment already exists$"):
            client_for("kevin").release_assignment(course, "ps1", [])
        with pytest.raises(ExchangeApiError, match="Permission denied"):
            client_for("alice").get_submission(course, "ps1", "alice")

    def test_ids_are_quoted_one_segment_each(self, client_for):
        with pytest.raises(ExchangeApiError) as e:
            client_for("root").delete_course("a/b c?")
        assert e.value.request == "DELETE /course/a%2Fb%20c%3F"
        assert e.value.status == 404  # not a route mismatch on a longer path
        client_for("root").create_course("odd course+1", ["kevin"])
        assert "odd course+1" in client_for("kevin").list_courses()


class TestWire:
    def test_sends_token_and_no_user_by_default(self, recorder, monkeypatch):
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret-from-env")
        ExchangeClient(recorder.url).list_courses()
        seen = recorder.seen[-1]
        assert seen["headers"]["Authorization"] == "token secret-from-env"
        assert seen["path"] == "/api/courses"

    def test_dev_user_goes_in_query_for_get_and_delete(self, recorder):
        client = ExchangeClient(recorder.url, token="t", dev_user="alice")
        recorder.reply = (200, "application/json", '{"success": true, "files": []}')
        client.get_assignment("c1", "ps1", list_only=True)
        client.delete_assignment("c1", "ps1")
        get, delete = recorder.seen
        assert parse_qs(urlsplit(get["path"]).query) == {"list_only": ["true"], "user": ["alice"]}
        assert parse_qs(urlsplit(delete["path"]).query) == {"user": ["alice"]}
        assert get["headers"]["Authorization"] == "token t"

    def test_dev_user_and_files_go_in_the_form_body_for_post(self, recorder):
        recorder.reply = (200, "application/json", '{"success": true, "timestamp": "T"}')
        client = ExchangeClient(recorder.url, token="t", dev_user="alice")
        assert client.submit("c1", "ps1", files({"a/b.ipynb": b"\x00\xff"})) == "T"
        seen = recorder.seen[-1]
        assert seen["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
        form = parse_qs(seen["body"])
        assert form["user"] == ["alice"]
        assert json.loads(form["files"][0]) == [
            {"path": "a/b.ipynb", "content": base64.b64encode(b"\x00\xff").decode()}
        ]
        assert urlsplit(seen["path"]).query == ""

    def test_non_json_body_is_an_error_with_its_status(self, recorder):
        recorder.reply = (502, "text/html", "<h1>Bad Gateway</h1>")
        with pytest.raises(ExchangeApiError) as e:
            ExchangeClient(recorder.url, token="t").list_courses()
        assert e.value.status == 502
        assert "not JSON" in e.value.message and "Bad Gateway" in e.value.message

    def test_success_false_without_message_and_http_error_with_success(self, recorder):
        recorder.reply = (200, "application/json", '{"success": false}')
        with pytest.raises(ExchangeApiError, match="without a message"):
            ExchangeClient(recorder.url, token="t").list_courses()
        recorder.reply = (500, "application/json", '{"success": true}')
        with pytest.raises(ExchangeApiError) as e:
            ExchangeClient(recorder.url, token="t").list_courses()
        assert e.value.status == 500

    def test_no_server_is_an_error_without_status(self):
        url = f"http://127.0.0.1:{free_port()}/api/"
        with pytest.raises(ExchangeApiError) as e:
            ExchangeClient(url, token="t", timeout=5).list_courses()
        assert e.value.status is None
        assert "Cannot reach ngshare" in e.value.message

    def test_missing_url_is_an_error(self):
        with pytest.raises(ExchangeApiError, match="not configured"):
            ExchangeClient("")


class TestDefaultUrl:
    def test_ngshare_url_wins(self):
        assert default_url({"NGSHARE_URL": "http://x/ngshare", "JUPYTERHUB_HOST": "h"}) == (
            "http://x/ngshare/"
        )

    def test_public_hub_url_with_base_url(self):
        env = {
            "JUPYTERHUB_PUBLIC_HUB_URL": "https://hub.example.org/jhub/hub/",
            "JUPYTERHUB_BASE_URL": "/jhub/",
            "PROXY_PUBLIC_SERVICE_HOST": "10.0.0.1",
        }
        assert default_url(env) == "https://hub.example.org/jhub/services/ngshare/"

    def test_hub_host_then_kubernetes_proxy(self):
        assert default_url({"JUPYTERHUB_HOST": "https://h.org", "JUPYTERHUB_BASE_URL": "/"}) == (
            "https://h.org/services/ngshare/"
        )
        assert default_url({"PROXY_PUBLIC_SERVICE_HOST": "10.0.0.1"}) == (
            "http://proxy-public/services/ngshare/"
        )
        assert default_url({"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api"}) == ""


class TestEncodeDirectory:
    def test_relative_posix_paths_with_ignore_include_and_size(self, tmp_path):
        (tmp_path / "sub" / "deep").mkdir(parents=True)
        (tmp_path / ".ipynb_checkpoints").mkdir()
        (tmp_path / "p1.ipynb").write_bytes(b"nb")
        (tmp_path / "sub" / "deep" / "d.csv").write_bytes(b"d")
        (tmp_path / ".ipynb_checkpoints" / "p1-checkpoint.ipynb").write_bytes(b"old")
        (tmp_path / "x.pyc").write_bytes(b"c")
        (tmp_path / "big.bin").write_bytes(b"x" * 2001)
        skipped = []
        entries = encode_directory(
            tmp_path,
            ignore=[".ipynb_checkpoints", "*.pyc"],
            max_file_size=2,
            on_skip=lambda path, why: skipped.append((path, why)),
        )
        assert [e["path"] for e in entries] == ["p1.ipynb", "sub/deep/d.csv"]
        assert base64.b64decode(entries[1]["content"]) == b"d"
        assert skipped == [("big.bin", "too large"), ("x.pyc", "ignored")]
        only_csv = encode_directory(tmp_path, ignore=[".ipynb_checkpoints"], include=["*.csv"])
        assert [e["path"] for e in only_csv] == ["sub/deep/d.csv"]


class TestWriteFiles:
    def test_writes_nested_files_and_keeps_existing_without_overwrite(self, tmp_path):
        (tmp_path / "keep.txt").write_text("mine")
        written = write_files(files({"keep.txt": b"theirs", "a/b/c.txt": b"new"}), tmp_path, False)
        assert written == ["a/b/c.txt"]
        assert (tmp_path / "keep.txt").read_text() == "mine"
        assert (tmp_path / "a" / "b" / "c.txt").read_bytes() == b"new"
        write_files(files({"keep.txt": b"theirs"}), tmp_path)
        assert (tmp_path / "keep.txt").read_text() == "theirs"

    def test_accepts_ngshare_06_line_wrapped_base64(self, tmp_path):
        data = bytes(range(256)) * 2
        entry = {"path": "f.bin", "content": base64.encodebytes(data).decode()}
        write_files([entry], tmp_path)
        assert (tmp_path / "f.bin").read_bytes() == data

    @pytest.mark.parametrize(
        "path", ["../evil", "/etc/evil", "a/../../evil", "a//b", "./a", "a\\..\\b", "", "a/."]
    )
    def test_refuses_paths_that_escape_and_writes_nothing(self, tmp_path, path):
        dest = tmp_path / "dest"
        bad = [*files({"good.txt": b"x"}), {"path": path, "content": ""}]
        with pytest.raises(UnsafePathError):
            write_files(bad, dest)
        assert not dest.exists() or list(dest.iterdir()) == []
        assert sorted(os.listdir(tmp_path)) in (["dest"], [])

    def test_refuses_writing_through_a_symlink_out_of_the_destination(self, tmp_path):
        outside = tmp_path / "outside"
        outside.mkdir()
        dest = tmp_path / "dest"
        dest.mkdir()
        (dest / "link").symlink_to(outside)
        with pytest.raises(UnsafePathError, match="leaves the destination"):
            write_files(files({"link/x": b"x"}), dest)
        assert list(outside.iterdir()) == []

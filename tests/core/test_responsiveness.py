"""The IOLoop never blocks: health checks keep answering during heavy requests."""

import base64
import json
import os
import threading
import time
import urllib.parse
import urllib.request

from tests.servers import running_server

UPLOAD_BYTES = 48 * 1024 * 1024


def post(url, fields):
    data = urllib.parse.urlencode(fields).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=300) as r:
        return json.loads(r.read())


def test_health_checks_answer_while_a_large_upload_is_processed(tmp_path):
    with running_server(tmp_path) as base:
        api = base + "/api/"
        post(api + "course/c1", {"user": "root", "instructors": '["kevin"]'})
        content = base64.b64encode(os.urandom(UPLOAD_BYTES)).decode()
        files = json.dumps([{"path": "big.bin", "content": content}])
        del content

        done = threading.Event()
        result = {}

        def upload():
            start = time.monotonic()
            try:
                result["body"] = post(api + "assignment/c1/big", {"user": "kevin", "files": files})
            except Exception as e:  # reported by the assertion below
                result["body"] = repr(e)
            finally:
                result["seconds"] = time.monotonic() - start
                done.set()

        latencies = []
        worker = threading.Thread(target=upload)
        worker.start()
        deadline = time.monotonic() + 240  # bounded, whatever happens
        while not done.is_set() and time.monotonic() < deadline:
            start = time.monotonic()
            urllib.request.urlopen(base + "/healthz", timeout=60).read()
            latencies.append(time.monotonic() - start)
            time.sleep(0.01)
        worker.join()

        assert result["body"] == {"success": True}
        # A loop blocked by the upload would hold a health check for most of it.
        assert len(latencies) >= 5, latencies
        assert max(latencies) < result["seconds"] / 3, (max(latencies), result["seconds"])


def test_300_students_enrol_in_one_call_in_request_order(tmp_path):
    with running_server(tmp_path) as base:
        api = base + "/api/"
        post(api + "course/c1", {"user": "root", "instructors": '["kevin"]'})
        students = [
            {"username": f"s{i}", "first_name": "F", "last_name": "L", "email": f"s{i}@x"}
            for i in range(300)
        ]
        body = post(api + "students/c1", {"user": "kevin", "students": json.dumps(students)})
        assert [s["success"] for s in body["status"]] == [True] * 300
        with urllib.request.urlopen(api + "students/c1?user=kevin", timeout=60) as r:
            listed = json.loads(r.read())["students"]
        assert [s["username"] for s in listed] == [f"s{i}" for i in range(300)]

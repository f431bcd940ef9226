"""ngshare as a JupyterHub managed service: identity, permissions, OAuth."""

import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def call(hub, method, path, token=None, scheme="token", fields=None, headers=None):
    url = hub.service_url + path
    data = None
    if fields is not None and method in ("GET", "DELETE"):
        url += "?" + urllib.parse.urlencode(fields)
    elif fields is not None:
        data = urllib.parse.urlencode(fields).encode()
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"{scheme} {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), json.loads(e.read())


def test_no_token_gets_a_json_401(hub):
    status, ctype, body = call(hub, "GET", "courses")
    assert status == 401 and ctype.startswith("application/json")
    assert body == {"success": False, "message": "Login required"}


def test_a_bad_token_gets_a_json_401(hub):
    status, _, body = call(hub, "GET", "courses", token="not-a-real-token")
    assert (status, body["success"]) == (401, False)


def test_the_user_argument_is_ignored_outside_dev_mode(hub, hub_users):
    status, _, body = call(hub, "GET", "courses", fields={"user": "root"})
    assert status == 401
    # a student claiming to be root in the form is still the student
    status, _, body = call(
        hub, "POST", "course/hijack", token=hub_users["s1"], fields={"user": "root"}
    )
    assert (status, body["message"]) == (403, "Permission denied (not admin)")


def test_course_workflow_with_hub_tokens(hub, hub_users):
    t = hub_users
    assert (
        call(hub, "POST", "course/hubc", t["root"], fields={"instructors": '["kevin"]'})[0] == 200
    )
    students = json.dumps(
        [
            {"username": s, "first_name": s, "last_name": "x", "email": f"{s}@x"}
            for s in ("s1", "s2")
        ]
    )
    assert call(hub, "POST", "students/hubc", t["kevin"], fields={"students": students})[0] == 200
    files = json.dumps([{"path": "a.ipynb", "content": "e30="}])
    status, _, _ = call(hub, "POST", "assignment/hubc/a1", t["kevin"], "Bearer", {"files": files})
    assert status == 200  # the Bearer scheme works as well as token

    status, _, body = call(hub, "POST", "submission/hubc/a1", t["s1"], fields={"files": files})
    assert status == 200
    ts = body["timestamp"]

    # a student cannot collect another's submission, nor release
    status, _, body = call(hub, "GET", "submission/hubc/a1/s1", t["s2"])
    assert (status, body["message"]) == (403, "Permission denied (not course instructor)")
    status, _, body = call(hub, "POST", "assignment/hubc/a2", t["s1"], fields={"files": files})
    assert (status, body["message"]) == (403, "Permission denied (not course instructor)")
    # an outsider sees nothing of the course
    status, _, body = call(hub, "GET", "assignments/hubc", t["outsider"])
    assert (status, body["message"]) == (403, "Permission denied (not related to course)")

    status, _, body = call(hub, "GET", "submission/hubc/a1/s1", t["kevin"])
    assert (status, body["timestamp"]) == (200, ts)
    assert call(hub, "GET", "courses", t["s1"])[2]["courses"] == ["hubc"]


def test_browsers_sign_in_through_hub_oauth(hub):
    jar = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(jar)
    # anonymous: the page sends the browser to the hub's OAuth authorize URL
    no_redirect = urllib.request.build_opener(_NoRedirect())
    try:
        no_redirect.open(hub.service_url, timeout=30)
        raise AssertionError("expected a redirect to log in")
    except urllib.error.HTTPError as e:
        assert e.code == 302
        assert "/hub/api/oauth2/authorize" in e.headers["Location"]
    # log in to the hub with the dummy authenticator
    login_page = opener.open(hub.url + "/hub/login", timeout=30).read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login_page).group(1)
    form = urllib.parse.urlencode(
        {"username": "kevin", "password": hub.password, "_xsrf": xsrf}
    ).encode()
    # log in, coming back to the service: the hub completes OAuth with ngshare
    next_url = urllib.parse.quote(urllib.parse.urlparse(hub.service_url).path)
    page = opener.open(hub.url + f"/hub/login?next={next_url}", data=form, timeout=30)
    page = page.read().decode()
    assert "<b id='user'>kevin</b>" in page
    # the cookie identifies API GETs too
    with opener.open(hub.service_url + "courses", timeout=30) as r:
        assert json.loads(r.read())["success"] is True
    # but a cookie-authenticated write without an xsrf token is not identified
    req = urllib.request.Request(
        hub.service_url + "course/viacookie", data=b"instructors=[]", method="POST"
    )
    try:
        opener.open(req, timeout=30)
        raise AssertionError("cookie POST without _xsrf was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 401


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_cookie_secret_is_kept_on_disk_with_mode_0600(hub):
    secret = hub.work / "ngshare" / "cookie_secret"
    assert secret.exists()
    assert secret.stat().st_mode & 0o777 == 0o600


def test_the_fast_token_lookup_reads_the_real_hubs_answers_as_hubauth_does(hub, hub_users):
    import asyncio

    from jupyterhub.services.auth import HubAuth

    from ngshare.hub_lookup import HubTokenLookup

    api_url = hub.url + "/hub/api"

    async def both(token):
        fast = HubTokenLookup(api_url)
        auth = HubAuth(api_url=api_url, api_token=hub.driver_token, cache_max_age=0)
        try:
            return (
                await fast.user_for_token(token),
                await auth.user_for_token(token, use_cache=False, sync=False),
            )
        finally:
            fast.close()

    fast, reference = asyncio.run(both(hub_users["s1"]))
    assert fast["name"] == "s1" and fast["kind"] == "user"
    # the same model, but for what differs between two asks (last activity)
    assert {k: v for k, v in fast.items() if k != "last_activity"} == {
        k: v for k, v in reference.items() if k != "last_activity"
    }
    assert asyncio.run(both("not-a-real-token")) == (None, None)

"""Smoke test for ../shared/tools/container-check, through the web pages as a browser would.

  python3 tests/container_smoke.py setup   # SMOKE: set up a household, flip, reflect
  python3 tests/container_smoke.py check   # SMOKE_RESTART: after a restart, the flip and reflection are there

Standard library only: it runs on the host, against BASE_URL.
"""

import http.cookiejar
import json
import os
import re
import sys
import urllib.parse
import urllib.request

BASE = os.environ.get("BASE_URL", "http://127.0.0.1:8000")
PASSWORD = "smoke test password"
NOTE = "Smoke: the last hill, I leaned in."


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        req = urllib.request.Request(BASE + path, data=data, method=method)
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def get(self, path: str) -> str:
        status, _, body = self.request("GET", path)
        expect(status == 200, f"GET {path}: {status}")
        return body

    def post(self, form_page: str, path: str, form: dict[str, str]) -> str:
        """GET the page with the form, then POST it with that page's CSRF token; returns the redirect target."""
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', self.get(form_page))
        expect(token is not None, f"no CSRF token on {form_page}")
        assert token is not None
        status, location, body = self.request("POST", path, {**form, "csrf_token": token.group(1)})
        expect(status == 303, f"POST {path}: {status} {body[:300]}")
        return location


def expect(condition: bool, message: str) -> None:
    if not condition:
        print(f"smoke: FAIL: {message}", file=sys.stderr)
        raise SystemExit(1)


def setup() -> None:
    browser = Browser()
    signup = {"name": "Smoke", "password": PASSWORD, "password_again": PASSWORD, "member": "Ana"}
    browser.post("/signup", "/signup", signup)
    browser.post("/enhancers", "/enhancers", {"name": "Music", "kind": "media", "spike": "2"})
    browser.post("/habits/new", "/habits", {"name": "Morning run", "chance": "50", "enhancer_ids": "1"})
    flip = browser.post("/", "/habits/1/flips", {})
    expect(re.fullmatch(r"/flips/\d+", flip) is not None, f"flip went to {flip!r}")
    verdict = browser.get(flip)
    expect("the verdict is final" in verdict, "no verdict shown")
    again = browser.post("/", "/habits/1/flips", {})
    expect(again == flip, "a second tap drew a new flip")
    reflection = {"effort": "8", "enjoyment": "7", "followed": "yes", "note": NOTE}
    browser.post(flip, f"{flip}/reflection", reflection)
    expect(NOTE in browser.get("/history"), "the reflection is not in the history")
    print(f"smoke: set up, flipped {flip}, reflected")


def check() -> None:
    browser = Browser()
    browser.post("/login", "/login", {"name": "Smoke", "password": PASSWORD})
    browser.post("/members", "/members/1/pick", {})
    history = browser.get("/history")
    expect(NOTE in history and "Morning run" in history, "the flip and reflection did not survive the restart")
    flips = json.loads(browser.get("/api/v1/flips"))
    expect(len(flips) == 1 and flips[0]["reflection"]["note"] == NOTE, f"API shows {flips}")
    print("smoke: after the restart the flip and its reflection are there")


if __name__ == "__main__":
    {"setup": setup, "check": check}[sys.argv[1]]()

"""The local gateway at its edges, over real HTTP with throw-away functions: methods no route has, throttling,
and waiting for an execution environment (docs/local.md, "Gateway")."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from bazaar.manifest import Function, Route
from local import gateway as gw
from local.runtime import LambdaRuntime

HANDLERS = {
    "ok": "def handler(event, context):\n    return {'method': event['requestContext']['http']['method']}\n",
    "slow": "import time\ndef handler(event, context):\n    time.sleep(0.6)\n    return {'slept': True}\n",
}
NOT_FOUND = {"message": "Not Found"}
INTERNAL_ERROR = {"message": "Internal Server Error"}


def _fn(name: str, method: str = "GET", timeout_s: int = 1) -> Function:
    return Function(name=name, handler=f"functions.{name}.handler.handler",
                    source=Route(method, f"/{name}", public=True), timeout_s=timeout_s)


FUNCTIONS = [_fn("ok"), _fn("slow")]


@pytest.fixture(scope="module")
def functions_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("src") / "functions"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, code in HANDLERS.items():
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("")
        (root / name / "handler.py").write_text(code)
    return root


class _Served:
    def __init__(self, functions_dir: Path, work: Path, concurrency_limit: int) -> None:
        self.lines: list[str] = []
        self.runtime = LambdaRuntime(FUNCTIONS, lambda fn: {}, "http://127.0.0.1:1", work / "code", work / "logs",
                                     max_workers=1, functions_dir=functions_dir, concurrency_limit=concurrency_limit)
        self.server = gw.bind(0)
        self.port = self.server.server_address[1]
        gateway = gw.Gateway(gw.build_router(FUNCTIONS), authorizer=None, runtime=self.runtime,  # type: ignore
                             port=self.port, say=self.lines.append)
        self.server.serve_in_thread(gateway)

    def request(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.runtime.shutdown(grace_s=0.5)


@pytest.fixture(scope="module")
def served(functions_dir, tmp_path_factory) -> Iterator[_Served]:
    s = _Served(functions_dir, tmp_path_factory.mktemp("work"), concurrency_limit=1000)
    yield s
    s.close()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO", "HEAD", "PUT"])
def test_a_method_no_route_has_gets_the_http_api_404(served, method):
    """http.server answered an unknown method with its own 501 HTML page."""
    status, headers, body = served.request(method, "/ok")
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert headers.get("apigw-requestid")
    if method != "HEAD":
        assert json.loads(body) == NOT_FOUND


def test_the_route_method_still_reaches_the_function(served):
    status, _, body = served.request("GET", "/ok")
    assert (status, json.loads(body)) == (200, {"method": "GET"})


def test_a_request_waiting_for_an_environment_is_not_timed_out(served):
    """One environment, a 1 s timeout, 0.6 s of work: the second request waits 0.6 s, then runs 0.6 s."""
    served.request("GET", "/slow")
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(served.request("GET", "/slow")[0])) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]


def test_beyond_the_concurrency_limit_the_answer_is_the_http_api_500(functions_dir, tmp_path):
    """Lambda refuses the invoke (TooManyRequestsException); an HTTP API answers its generic 500 for it."""
    s = _Served(functions_dir, tmp_path, concurrency_limit=1)
    try:
        answers: list[tuple[int, bytes]] = []

        def call() -> None:
            status, _, body = s.request("GET", "/slow")
            answers.append((status, body))

        first = threading.Thread(target=call)
        first.start()
        deadline = time.monotonic() + 10
        while s.runtime.in_flight < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        call()
        first.join()
        assert sorted(status for status, _ in answers) == [200, 500]
        (body,) = [body for status, body in answers if status == 500]
        assert json.loads(body) == INTERNAL_ERROR
        assert [line for line in s.lines if "-> 500" in line and line.endswith("slow throttled")]
    finally:
        s.close()

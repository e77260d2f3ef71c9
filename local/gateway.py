"""The local HTTP API: routes from the manifest, the JWT authorizer, payload 2.0 to the Lambda runtime.

A ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive), so concurrent requests run
concurrently; the runtime adds execution environments for concurrent invokes of one function.
The socket is bound as the very first step of ``make run`` (a taken port fails fast), served once ready.
"""

from __future__ import annotations

import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import urlsplit

from bazaar.manifest import Function
from local import apigw
from local.authorizer import JwtAuthorizer, Unauthorized
from local.routing import Router
from local.runtime import LambdaRuntime


def build_router(functions: list[Function]) -> Router[Function]:
    return Router((fn.route.method, fn.route.path, fn) for fn in functions if fn.route)


class Gateway:
    def __init__(self, router: Router[Function], authorizer: JwtAuthorizer, runtime: LambdaRuntime,
                 port: int, say: Optional[Callable[[str], None]] = None) -> None:
        self.router, self.authorizer, self.runtime, self.port = router, authorizer, runtime, port
        self._say = say or timestamped_print

    def handle(self, req: apigw.HttpRequest) -> tuple[apigw.HttpResponse, str, str]:
        """The response, plus the function name and "cold"/"warm" for the console line."""
        rid = req.request_id
        if len(req.body) > apigw.MAX_REQUEST_BYTES:
            return apigw.json_response(*apigw.TOO_LARGE, rid), "-", ""
        match = self.router.match(req.method, req.raw_path)
        if match is None:
            return apigw.json_response(*apigw.NOT_FOUND, rid), "-", ""
        fn, route = match.route.target, match.route.target.route
        assert route is not None
        claims = None
        if not route.public:  # public routes get no authorizer, even when a token is sent
            authorization = ", ".join(v for k, v in req.headers if k.lower() == "authorization") or None
            try:
                claims = self.authorizer.authorize(authorization)
            except Unauthorized:
                return apigw.json_response(*apigw.UNAUTHORIZED, rid), fn.name, ""
        event = apigw.build_event(req, route.key, match.path_parameters, claims)
        result = self.runtime.invoke(fn.name, event)
        if result.throttled:  # Lambda refused the invoke: HTTP APIs answer their generic 500 (docs/local.md)
            return apigw.json_response(*apigw.INTERNAL_ERROR, rid), fn.name, "throttled"
        temperature = "cold" if result.cold else "warm"
        if not result.ok:  # unhandled error, timeout, crash: API Gateway's generic 500
            return apigw.json_response(*apigw.INTERNAL_ERROR, rid), fn.name, temperature + " " + result.error_type
        try:
            return apigw.map_result(result.payload, rid), fn.name, temperature
        except apigw.BadLambdaResponse:
            return apigw.json_response(*apigw.INTERNAL_ERROR, rid), fn.name, temperature + " bad-response"

    def log(self, method: str, path: str, status: int, ms: float, fn: str, note: str) -> None:
        # Never the query string (cursors, secrets) nor any header (tokens).
        self._say(f"{method:6} {path} -> {status} {ms:.0f}ms {fn} {note}".rstrip())


_print_lock = threading.Lock()


def timestamped_print(line: str) -> None:
    with _print_lock:
        print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)


class _TooLarge(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one segment, sent at once: with Nagle on, a keep-alive client's delayed ACK
    # added ~40 ms to every response.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    timeout = 30  # a client that declares more body than it sends must not hold a thread forever
    server: "GatewayServer"

    def log_message(self, format: str, *args: object) -> None:  # our own one-line log instead
        pass

    def _serve(self) -> None:
        t0 = time.monotonic()
        gateway = self.server.gateway
        assert gateway is not None
        target = self.path
        if "://" in target:  # absolute-form request target
            target = urlsplit(target)._replace(scheme="", netloc="").geturl() or "/"
        raw_path, _, raw_query = target.partition("?")
        raw_query = raw_query.split("#", 1)[0]
        try:
            body = self._read_body()
        except _TooLarge:
            self._send(apigw.json_response(*apigw.TOO_LARGE))
            gateway.log(self.command, raw_path, 413, (time.monotonic() - t0) * 1000, "-", "")
            return
        except ValueError:
            # The framing is unknown: what follows can't be trusted as the next request (no smuggling).
            self.close_connection = True
            self._send(apigw.json_response(400, {"message": "Bad Request"}))
            gateway.log(self.command, raw_path, 400, (time.monotonic() - t0) * 1000, "-", "bad framing")
            return
        req = apigw.HttpRequest(
            method=self.command, raw_path=raw_path or "/", raw_query=raw_query, headers=list(self.headers.items()),
            body=body, source_ip=self.client_address[0], protocol=self.request_version,
            host=self.headers.get("host", f"127.0.0.1:{gateway.port}"), port=gateway.port,
        )
        try:
            response, fn, note = gateway.handle(req)
        except Exception as exc:  # a bug in the gateway itself: still answer like API Gateway would
            response, fn, note = apigw.json_response(*apigw.INTERNAL_ERROR), "-", f"gateway-error {exc!r}"
        self._send(response)
        gateway.log(self.command, raw_path, response.status, (time.monotonic() - t0) * 1000, fn, note)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size < 0:
                    raise ValueError("negative chunk size")
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > apigw.MAX_REQUEST_BYTES:
                    self.close_connection = True
                    raise _TooLarge()
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length < 0:
            raise ValueError("negative content-length")
        if length > apigw.MAX_REQUEST_BYTES:  # refuse before reading it all; the connection cannot be reused
            self.close_connection = True
            raise _TooLarge()
        return self.rfile.read(length) if length else b""

    def _send(self, response: apigw.HttpResponse) -> None:
        try:
            self.send_response_only(response.status)
            self.send_header("date", formatdate(usegmt=True))
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                    self.send_header(name, value)
            no_body = response.status in (204, 304) or 100 <= response.status < 200
            if not no_body:
                self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if not no_body and self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server answers a method without a do_<METHOD> with its own 501 HTML page. Every method, TRACE and
        # custom verbs included, goes through routing instead: no route has it, so it gets the HTTP API's 404.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # quick restarts: TIME_WAIT sockets do not block the port
    request_queue_size = 128

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.gateway: Optional[Gateway] = None

    def serve_in_thread(self, gateway: Gateway) -> threading.Thread:
        self.gateway = gateway
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="gateway",
                                  daemon=True)
        thread.start()
        return thread


def bind(port: int, host: str = "127.0.0.1") -> GatewayServer:
    """Bind now (raises OSError when the port is taken), serve later."""
    return GatewayServer(host, port)



"""HTTP/1.1 message framing at the local gateway (RFC 9112 §6): a request whose length is ambiguous is answered
400 and its connection closed, so no byte of it can be read as another request (request smuggling)."""

from __future__ import annotations

import json
import socket
import threading
from typing import Iterator

import pytest

from local import apigw
from local.gateway import GatewayServer


class EchoGateway:
    """Stands in for the routed gateway: answers 200 with what it was given, and remembers every request."""

    port = 0

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()

    def handle(self, req: apigw.HttpRequest) -> tuple[apigw.HttpResponse, str, str]:
        with self.lock:
            self.seen.append((req.method, req.raw_path, req.body))
        return apigw.json_response(200, {"path": req.raw_path, "length": len(req.body)}, req.request_id), "echo", ""

    def log(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[GatewayServer, EchoGateway]]:
    srv = GatewayServer("127.0.0.1", 0)
    gateway = EchoGateway()
    srv.serve_in_thread(gateway)  # type: ignore[arg-type]
    yield srv, gateway
    srv.shutdown()
    srv.server_close()


def exchange(server: GatewayServer, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send ``raw``, then read until the server closes the connection (or the timeout, for keep-alive)."""
    with socket.create_connection(server.server_address[:2], timeout=timeout) as sock:
        sock.sendall(raw)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except socket.timeout:
            pass
    return received


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


def request(headers: bytes, body: bytes = b"") -> bytes:
    return b"POST /target HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n" + body


BAD = {
    "content-length and transfer-encoding": request(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                                                    b"0\r\n\r\n" + SMUGGLED),
    "transfer-encoding and content-length": request(b"Transfer-Encoding: chunked\r\nContent-Length: 40\r\n",
                                                    b"5\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "conflicting content-length headers": request(b"Content-Length: 5\r\nContent-Length: 6\r\n", b"hello!" + SMUGGLED),
    "conflicting content-length list": request(b"Content-Length: 5, 6\r\n", b"hello!" + SMUGGLED),
    "content-length with a sign": request(b"Content-Length: +5\r\n", b"hello" + SMUGGLED),
    "negative content-length": request(b"Content-Length: -1\r\n", SMUGGLED),
    "content-length not a number": request(b"Content-Length: 1x\r\n", SMUGGLED),
    "content-length in hex": request(b"Content-Length: 0x5\r\n", b"hello" + SMUGGLED),
    "empty content-length": request(b"Content-Length: \r\n", SMUGGLED),
    "space before the colon": request(b"Content-Length : 5\r\n", b"hello" + SMUGGLED),
    "folded header line": request(b"Content-Length: 5\r\nX-Folded: a\r\n b\r\n", b"hello" + SMUGGLED),
    "transfer coding other than chunked": request(b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    "transfer coding chunked twice": request(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                                             b"0\r\n\r\n" + SMUGGLED),
    "transfer coding misspelt": request(b"Transfer-Encoding: xchunked\r\n", b"0\r\n\r\n" + SMUGGLED),
    "chunk size not hex": request(b"Transfer-Encoding: chunked\r\n", b"g\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "chunk size with 0x": request(b"Transfer-Encoding: chunked\r\n", b"0x5\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "chunk size with a sign": request(b"Transfer-Encoding: chunked\r\n", b"+5\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "chunk size with an underscore": request(b"Transfer-Encoding: chunked\r\n", b"0_5\r\nhello\r\n0\r\n\r\n"),
    "chunk size with leading space": request(b"Transfer-Encoding: chunked\r\n", b" 5\r\nhello\r\n0\r\n\r\n"),
    "empty chunk size": request(b"Transfer-Encoding: chunked\r\n", b"\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "chunk size overflowing": request(b"Transfer-Encoding: chunked\r\n", b"f" * 40 + b"\r\nhello\r\n0\r\n\r\n"),
    "chunk size line ending in bare LF": request(b"Transfer-Encoding: chunked\r\n", b"5\nhello\r\n0\r\n\r\n"),
    "chunk longer than its size": request(b"Transfer-Encoding: chunked\r\n", b"3\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
    "chunk data without its CRLF": request(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello0\r\n\r\n" + SMUGGLED),
    "chunk terminated by bare LF": request(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\n0\r\n\r\n" + SMUGGLED),
    "malformed trailer": request(b"Transfer-Encoding: chunked\r\n", b"0\r\nnot a field\r\n\r\n" + SMUGGLED),
    "body cut short": request(b"Content-Length: 50\r\n", b"only twenty bytes...") + b"",
}


@pytest.mark.parametrize("raw", BAD.values(), ids=BAD.keys())
def test_ambiguous_framing_is_400_and_the_connection_is_closed(server, raw: bytes) -> None:
    srv, gateway = server
    before = len(gateway.seen)
    if raw.endswith(b"only twenty bytes..."):  # the client stops sending: half-close so the read ends
        with socket.create_connection(srv.server_address[:2], timeout=5) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    else:
        received = exchange(srv, raw)  # returns only once the server has closed the connection
    assert received.startswith(b"HTTP/1.1 400 "), received[:200]
    assert received.count(b"HTTP/1.1 ") == 1, received  # one answer: nothing after it was read as a request
    assert json.loads(received.split(b"\r\n\r\n", 1)[1]) == {"message": "Bad Request"}
    assert len(gateway.seen) == before  # never reached a function


GOOD = {
    "content-length": (request(b"Content-Length: 5\r\n", b"hello"), b"hello"),
    "identical content-length headers": (request(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"hello"), b"hello"),
    "no body": (request(b""), b""),
    "chunked": (request(b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
                b"hello world"),
    "chunked, upper-case hex and an extension": (request(b"Transfer-Encoding: Chunked\r\n",
                                                         b"A ;name=value\r\n0123456789\r\n0\r\n\r\n"), b"0123456789"),
    "multipart media type (its body is not parsed here)": (
        request(b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 5\r\n", b"hello"), b"hello"),
    "chunked with a trailer": (request(b"Transfer-Encoding: chunked\r\n", b"2\r\nhi\r\n0\r\nX-Sum: 1\r\n\r\n"), b"hi"),
}


@pytest.mark.parametrize("raw, body", GOOD.values(), ids=GOOD.keys())
def test_well_framed_requests_keep_the_connection(server, raw: bytes, body: bytes) -> None:
    srv, gateway = server
    follow_up = b"GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    received = exchange(srv, raw + follow_up)
    assert received.count(b"HTTP/1.1 200 ") == 2, received  # keep-alive: the next request is served too
    first = json.loads(received.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1", 1)[0])
    assert first == {"path": "/target", "length": len(body)}
    assert gateway.seen[-2] == ("POST", "/target", body)
    assert gateway.seen[-1][:2] == ("GET", "/second")


MALFORMED_REQUESTS = {
    "space in the target": (b"GET /products/a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "no version": (b"GET /products\r\nHost: x\r\n\r\n" + SMUGGLED, 400),
    "unknown version": (b"GET / HTTP/7.1\r\nHost: x\r\n\r\n", 505),
    "request line over 64 KiB": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "over 100 header fields": (b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n" + SMUGGLED, 431),
}


@pytest.mark.parametrize("raw, status", MALFORMED_REQUESTS.values(), ids=MALFORMED_REQUESTS.keys())
def test_malformed_requests_get_json_not_html_and_the_connection_closes(server, raw: bytes, status: int) -> None:
    srv, gateway = server
    before = len(gateway.seen)
    received = exchange(srv, raw)
    assert received.startswith(f"HTTP/1.1 {status} ".encode()), received[:200]
    assert received.count(b"HTTP/1.1 ") == 1
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    assert set(json.loads(body)) == {"message"}
    assert len(gateway.seen) == before

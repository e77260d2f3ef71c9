"""Libraries never log below WARNING, whatever the application level: in Lambda with JSON logging at DEBUG the
runtime sets the root logger to DEBUG, and botocore then writes whole response bodies (secrets included)."""

from __future__ import annotations

import io
import logging
from typing import Iterator

import pytest

from bazaar import observability


@pytest.fixture
def lambda_root_at_debug() -> Iterator[io.StringIO]:
    """The root logger as the Lambda runtime leaves it with ``AWS_LAMBDA_LOG_LEVEL=DEBUG``: DEBUG, one handler."""
    root = logging.getLogger()
    names = ("", *observability.LIBRARY_LOGGERS, "some.future.library")
    saved = {name: logging.getLogger(name).level for name in names}
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in names[1:]:
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def test_without_the_guard_botocore_would_write_a_secret(lambda_root_at_debug: io.StringIO) -> None:
    """The hazard, shown: nothing else stands between botocore's DEBUG lines and the log."""
    logging.getLogger("botocore.parsers").debug("Response body: b'{\"SecretString\": \"s3cr3t\"}'")
    assert "s3cr3t" in lambda_root_at_debug.getvalue()


@pytest.mark.parametrize("name", [*observability.LIBRARY_LOGGERS, "botocore.endpoint", "urllib3.connectionpool",
                                  "some.future.library"])
def test_libraries_stay_at_warning_when_the_root_is_at_debug(lambda_root_at_debug: io.StringIO, name: str) -> None:
    observability.quiet_libraries()
    library = logging.getLogger(name)
    library.debug("Response body: b'{\"SecretString\": \"s3cr3t\"}'")
    library.info("Making request with Authorization: AWS4-HMAC-SHA256 Credential=...")
    assert lambda_root_at_debug.getvalue() == ""
    assert library.getEffectiveLevel() == logging.WARNING  # warnings and errors still get through


def test_a_stricter_root_level_is_kept(lambda_root_at_debug: io.StringIO) -> None:
    logging.getLogger().setLevel(logging.ERROR)
    observability.quiet_libraries()
    assert logging.getLogger().level == logging.ERROR
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.ERROR


def test_the_application_logger_keeps_its_own_level(lambda_root_at_debug: io.StringIO) -> None:
    observability.quiet_libraries()
    app = observability.logger
    previous = app.log_level
    app.setLevel("DEBUG")
    try:
        assert app.isEnabledFor(logging.DEBUG)  # the application's DEBUG lines still reach the redacting formatter
    finally:
        app.setLevel(previous)

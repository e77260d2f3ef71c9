"""Pure business rules: no AWS SDK, no I/O. Unit-tested in tests/unit."""

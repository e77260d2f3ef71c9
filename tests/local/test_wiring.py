"""The local stack is generated from the manifest: grants, function names, code reload scope."""

from __future__ import annotations

import re
from pathlib import Path

from bazaar import manifest
from bazaar.manifest import GRANT_ENV
from local.config import physical_function_name
from local.provision import Provisioned, Queue, strong_password
from local.runtime import build_code_dir, worker_environment
from local.watcher import affected_functions


def provisioned() -> Provisioned:
    p = Provisioned(endpoint_url="http://127.0.0.1:1", cache_url="redis://127.0.0.1:2/0", table_name="t",
                    topic_arn="arn:topic", secret_ids={"cursor-key": "bazaar/local/cursor-key",
                                                       "payment-webhook": "bazaar/local/payment-webhook"})
    p.queues["x"] = Queue("u", "a")
    return p


def test_every_grant_variable_can_be_provided():
    assert set(GRANT_ENV.values()) <= set(provisioned().grant_values())


def test_each_function_gets_exactly_its_grant_variables(tmp_path):
    p = provisioned()
    for fn in manifest.FUNCTIONS:
        env = worker_environment(fn, p.function_grant_env(fn), p.endpoint_url, tmp_path)
        granted = set(fn.env_names)
        for name in set(GRANT_ENV.values()):
            assert (name in env) is (name in granted), (fn.name, name)
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == physical_function_name(fn.name)
        assert env["_HANDLER"] == fn.handler


def test_code_all_functions_see_every_function_package(tmp_path):
    repo_functions = Path(manifest.__file__).resolve().parents[2] / "functions"
    for fn in manifest.FUNCTIONS:
        code = build_code_dir(tmp_path, fn, repo_functions) / "functions"
        names = {p.name for p in code.iterdir()} - {"__init__.py"}
        if fn.code == "all":
            assert fn.name in names and len(names) > 1
        else:
            assert names == {fn.name}


def test_reload_scope(tmp_path):
    fdir = tmp_path / "functions"
    fns = list(manifest.FUNCTIONS)
    everything = {f.name for f in fns}
    code_all = {f.name for f in fns if f.code == "all"}
    assert affected_functions([str(fdir / "get_product" / "handler.py")], fns, fdir) == {"get_product"} | code_all
    assert affected_functions([str(tmp_path / "shared" / "bazaar" / "x.py")], fns, fdir) == everything
    assert affected_functions([str(fdir / "__init__.py")], fns, fdir) == everything


def test_seed_passwords_meet_the_policy():
    for _ in range(50):
        pw = strong_password()
        assert len(pw) >= 12
        assert re.search("[A-Z]", pw) and re.search("[a-z]", pw) and re.search("[0-9]", pw)
        assert re.search(r"[^A-Za-z0-9]", pw)


class RecordingRuntime:
    def __init__(self) -> None:
        self.recycled: list[set[str]] = []

    def recycle(self, names) -> None:
        self.recycled.append(set(names))


def test_code_watcher_recycles_on_change(tmp_path):
    import os
    import threading

    from bazaar.manifest import Function, Route
    from local.watcher import CodeWatcher

    fdir, shared = tmp_path / "functions", tmp_path / "shared"
    for d in (fdir / "fa", fdir / "fb", shared / "bazaar"):
        d.mkdir(parents=True)
    (fdir / "fa" / "handler.py").write_text("x = 1")
    (shared / "bazaar" / "m.py").write_text("y = 1")
    fns = [Function("fa", "functions.fa.handler.handler", Route("GET", "/a", public=True)),
           Function("fb", "functions.fb.handler.handler", Route("GET", "/b", public=True))]
    rt = RecordingRuntime()
    watcher = CodeWatcher(rt, fns, fdir, shared, threading.Event(), lambda s: None)  # type: ignore[arg-type]
    assert watcher.check() == set()
    (fdir / "fa" / "__pycache__").mkdir()
    (fdir / "fa" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"")  # bytecode is not a change
    assert watcher.check() == set()
    st = (fdir / "fa" / "handler.py").stat()
    os.utime(fdir / "fa" / "handler.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert watcher.check() == {"fa"}
    (shared / "bazaar" / "new.py").write_text("")
    assert watcher.check() == {"fa", "fb"}
    assert rt.recycled == [{"fa"}, {"fa", "fb"}]

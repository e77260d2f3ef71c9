"""The build generates the API document and its UI from the routers (manifest ``generated``); the functions serve
the generated files, which must be exactly what the routers give."""

from __future__ import annotations

import base64
import importlib
import json

import pytest

from bazaar import manifest
from bazaar.web.openapi import docs_html, openapi_json
from infra.assets import generated_files
from tests.support.events import FakeContext, http_event

GENERATING = [fn for fn in manifest.FUNCTIONS if fn.generated]


def test_the_api_document_functions_declare_what_they_serve() -> None:
    assert {fn.name: fn.generated for fn in GENERATING} == {"openapi": ("openapi.json",), "docs": ("docs.html",)}


@pytest.mark.parametrize("fn", GENERATING, ids=[fn.name for fn in GENERATING])
def test_the_build_generates_exactly_what_the_routers_give(fn: manifest.Function) -> None:
    [(path, rel)] = generated_files(fn)
    assert rel == f"functions/{fn.name}/{fn.generated[0]}"
    expected = openapi_json() if fn.name == "openapi" else docs_html(openapi_json())
    assert path.read_text(encoding="utf-8") == expected


@pytest.mark.parametrize("fn", GENERATING, ids=[fn.name for fn in GENERATING])
def test_the_function_serves_the_generated_file_and_imports_no_router(fn: manifest.Function,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module(f"functions.{fn.name}.handler")
    [(path, _)] = generated_files(fn)
    attribute = "DOCUMENT" if fn.name == "openapi" else "PAGE"
    monkeypatch.setattr(module, attribute, path)
    cached = module._document if fn.name == "openapi" else module._page
    cached.cache_clear()
    import bazaar.web.openapi as generator

    def no_routers() -> str:
        raise AssertionError("the routers were imported although the generated file exists")

    monkeypatch.setattr(generator, "openapi_json", no_routers)
    try:
        result = module.handler(http_event("GET", fn.route.path), FakeContext(fn.name))
    finally:
        cached.cache_clear()
    body = base64.b64decode(result["body"]).decode() if result["isBase64Encoded"] else result["body"]
    assert result["statusCode"] == 200 and body == path.read_text(encoding="utf-8")
    if fn.name == "openapi":
        assert json.loads(result["body"])["openapi"].startswith("3.1")

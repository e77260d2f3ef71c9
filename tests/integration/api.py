"""A thin client over the catalog functions' real entry points: builds the API Gateway v2 event each route gets
(route key + path parameters as the HTTP API sets them) and returns the result in an easy shape."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

from tests.support.events import claims, http_event

SELLER = claims("seller-1", "seller")
SELLER_2 = claims("seller-2", "seller")
ADMIN = claims("admin-1", "admin")
CUSTOMER = claims("customer-1", "customer")
NEW = {"name": "Brass lamp", "description": "Works", "price_cents": 4999, "currency": "EUR", "stock": 3}

PROBLEM_KEYS = {"type", "title", "status", "detail"}


@dataclass
class Result:
    status: int
    headers: dict[str, str]  # lower-case names
    body: Optional[str]
    raw: dict[str, Any]

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def assert_problem(self, status: int) -> dict[str, Any]:
        """A problem+json answer (RFC 9457) with this status; returns the body."""
        assert self.status == status, (self.status, self.body)
        assert self.content_type == "application/problem+json", self.headers
        body = self.json
        assert PROBLEM_KEYS <= set(body), body
        assert body["status"] == status and body["title"] and body["detail"]
        if status == 422:
            assert body["errors"], body
            for error in body["errors"]:
                assert isinstance(error["loc"], list) and error["loc"], error
                assert isinstance(error["msg"], str) and error["msg"], error
        return body


def product_path(product_id: str) -> str:
    return f"/products/{product_id}"


class Api:
    def __init__(self, invoke: Callable[[str, dict], dict]) -> None:
        self._invoke = invoke

    def call(self, name: str, event: dict[str, Any]) -> Result:
        raw = self._invoke(name, event)
        headers = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
        body = raw.get("body")
        if body is not None and raw.get("isBase64Encoded"):  # API Gateway sends the client the decoded bytes
            body = base64.b64decode(body).decode("utf-8")
        return Result(int(raw["statusCode"]), headers, body, raw)

    # --- event builders ---------------------------------------------------------------------------------------
    @staticmethod
    def item_event(method: str, product_id: str, **kw: Any) -> dict[str, Any]:
        return http_event(method, product_path(product_id), route_key=f"{method} /products/{{product_id}}",
                          path_parameters={"product_id": product_id}, **kw)

    # --- routes -----------------------------------------------------------------------------------------------
    def create(self, body: Any = None, who: Optional[dict] = SELLER, headers: Optional[dict] = None,
               **kw: Any) -> Result:
        return self.call("create_product", http_event("POST", "/products", body=NEW if body is None else body,
                                                      claims=who, headers=headers, **kw))

    def get(self, product_id: str, headers: Optional[dict] = None) -> Result:
        return self.call("get_product", self.item_event("GET", product_id, headers=headers))

    def patch(self, product_id: str, body: Any, who: Optional[dict] = SELLER, headers: Optional[dict] = None,
              **kw: Any) -> Result:
        return self.call("update_product", self.item_event("PATCH", product_id, body=body, claims=who,
                                                           headers=headers, **kw))

    def delete(self, product_id: str, who: Optional[dict] = SELLER, headers: Optional[dict] = None) -> Result:
        return self.call("delete_product", self.item_event("DELETE", product_id, claims=who, headers=headers))

    def list(self, query: str = "") -> Result:
        return self.call("list_products", http_event("GET", "/products", query=query))

    def new_product(self, who: dict = SELLER, **fields: Any) -> dict[str, Any]:
        result = self.create(dict(NEW, **fields), who=who)
        assert result.status == 201, result.body
        return result.json

"""The catalog's rules (bazaar.domain.catalog): who may change a product, how versions move, what is emitted."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bazaar.domain import catalog
from bazaar.domain.catalog import MUTABLE_FIELDS, Product
from bazaar.domain.errors import Forbidden, InvalidRequest, PreconditionFailed
from bazaar.domain.identity import Actor
from bazaar.domain.ids import is_valid_id

NOW = "2026-11-28T10:00:00.000Z"
LATER = "2026-11-28T11:00:00.000Z"
FIELDS = {"name": "Lamp", "description": "brass", "price_cents": 4999, "currency": "EUR", "stock": 3}

OWNER = Actor("seller-1", frozenset({"seller"}))
OTHER_SELLER = Actor("seller-2", frozenset({"seller"}))
ADMIN = Actor("admin-1", frozenset({"admin"}))
CUSTOMER = Actor("customer-1", frozenset({"customer"}))
# A customer whose sub happens to equal the seller id is still not the owning *seller*.
CUSTOMER_SAME_SUB = Actor("seller-1", frozenset({"customer"}))


@pytest.fixture
def product() -> Product:
    p, _ = catalog.new_product(OWNER, FIELDS, NOW)
    return p


# --- new_product ------------------------------------------------------------------------------------------------

def test_new_product_by_seller_is_version_1_owned_by_the_caller_and_emits_created(product: Product) -> None:
    p, event = catalog.new_product(OWNER, FIELDS, NOW)
    assert is_valid_id(p.product_id)
    assert (p.seller_id, p.version, p.created_at, p.updated_at) == ("seller-1", 1, NOW, NOW)
    assert {k: getattr(p, k) for k in FIELDS} == FIELDS
    assert event.type == "ProductCreated"
    assert event.aggregate_id == p.product_id
    assert event.data == p.to_dict()


def test_new_product_defaults_description_and_stock() -> None:
    p, _ = catalog.new_product(OWNER, {"name": "n", "price_cents": 1, "currency": "USD"}, NOW)
    assert (p.description, p.stock) == ("", 0)


def test_new_product_ids_are_unique() -> None:
    ids = {catalog.new_product(OWNER, FIELDS, NOW)[0].product_id for _ in range(200)}
    assert len(ids) == 200


@pytest.mark.parametrize("actor", [CUSTOMER, ADMIN, Actor("nobody", frozenset())], ids=["customer", "admin", "none"])
def test_only_sellers_create_products(actor: Actor) -> None:
    with pytest.raises(Forbidden):
        catalog.new_product(actor, FIELDS, NOW)


# --- ensure_can_change ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", [OWNER, ADMIN, Actor("admin-2", frozenset({"admin", "customer"}))],
                         ids=["owner", "admin", "admin+customer"])
def test_owner_and_admin_may_change(product: Product, actor: Actor) -> None:
    catalog.ensure_can_change(product, actor)  # does not raise


@pytest.mark.parametrize("actor", [OTHER_SELLER, CUSTOMER, CUSTOMER_SAME_SUB, Actor("seller-1", frozenset())],
                         ids=["other-seller", "customer", "customer-with-owner-sub", "owner-sub-without-groups"])
def test_everyone_else_may_not_change(product: Product, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        catalog.ensure_can_change(product, actor)


# --- If-Match --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "*", '"{etag}"', ' "x.9" , "{etag}" ', '"x.9", *', '"{id}.1"', '"{id}.1.2"'],
                         ids=["absent", "star", "exact", "in-list", "star-in-list", "version-only", "other-stock"])
def test_if_match_that_matches(product: Product, header: str | None) -> None:
    """If-Match names the version: a tag with another stock (an order moved it; the client read a cached copy)
    or without one (issued before the stock was part of the tag) still names the current version."""
    value = header.replace('"{etag}"', product.etag).replace("{id}", product.product_id) if header else header
    catalog.ensure_precondition(product, value)  # does not raise


@pytest.mark.parametrize("header", ['"{id}.2.3"', '"{id}.0.3"', '"{id}.1.3"x"{id}.3.3"', "{id}.1.3",
                                    '"other.1.3"', "", '"{id}.1.3"x', 'W/"{id}.1.3"', '"{id}.11"', '"{id}.1.x"',
                                    '"{id}.1.3.3"', '"{id}"'],
                         ids=["newer", "older", "garbled-list", "unquoted", "other-id", "empty", "trailing-junk",
                              "weak", "version-prefix", "stock-not-a-number", "extra-part", "id-only"])
def test_if_match_that_does_not_match(product: Product, header: str) -> None:
    with pytest.raises(PreconditionFailed):
        catalog.ensure_precondition(product, header.replace("{id}", product.product_id))


def test_etag_changes_with_the_version(product: Product) -> None:
    updated, _ = catalog.apply_update(product, OWNER, {"name": "Desk lamp"}, LATER)
    assert product.etag == f'"{product.product_id}.1.3"'
    assert updated.etag == f'"{product.product_id}.2.3"'


def test_etag_changes_with_the_stock_an_order_moves_without_a_version(product: Product) -> None:
    after_order = replace(product, stock=product.stock - 1)  # what an order's transaction leaves in the table
    assert after_order.version == product.version and after_order.etag != product.etag
    catalog.ensure_precondition(after_order, product.etag)  # If-Match names the version: still the current one
    assert replace(after_order, stock=product.stock).etag == product.etag  # same representation, same tag


# --- apply_update -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("changes", [{"name": "Desk lamp"}, {"price_cents": 1, "currency": "GBP"},
                                     {name: FIELDS[name] for name in MUTABLE_FIELDS}, {"stock": 3}])
def test_apply_update_bumps_version_by_exactly_one_and_emits_the_change(product: Product, changes: dict) -> None:
    updated, event = catalog.apply_update(product, OWNER, changes, LATER)
    assert updated.version == product.version + 1
    assert updated.updated_at == LATER and updated.created_at == NOW
    assert {k: getattr(updated, k) for k in changes} == changes
    untouched = set(MUTABLE_FIELDS) - set(changes)
    assert {k: getattr(updated, k) for k in untouched} == {k: getattr(product, k) for k in untouched}
    assert (updated.product_id, updated.seller_id) == (product.product_id, product.seller_id)
    assert event.type == "ProductUpdated"
    assert event.aggregate_id == product.product_id
    assert event.data == {"product": updated.to_dict(), "changed": sorted(changes), "previous_version": 1}


def test_apply_update_twice_moves_one_version_each_time(product: Product) -> None:
    v2, _ = catalog.apply_update(product, ADMIN, {"stock": 1}, LATER)
    v3, event = catalog.apply_update(v2, OWNER, {"stock": 2}, LATER, if_match=v2.etag)
    assert (v2.version, v3.version, event.data["previous_version"]) == (2, 3, 2)


def test_apply_update_does_not_mutate_the_input(product: Product) -> None:
    before = product.to_dict()
    catalog.apply_update(product, OWNER, {"name": "changed"}, LATER)
    assert product.to_dict() == before


@pytest.mark.parametrize("changes", [{}, {"version": 9}, {"seller_id": "seller-2"}, {"product_id": "x"},
                                     {"created_at": LATER}, {"name": "ok", "bogus": 1}],
                         ids=["empty", "version", "seller_id", "product_id", "created_at", "unknown-with-valid"])
def test_apply_update_rejects_empty_and_immutable_changes(product: Product, changes: dict) -> None:
    with pytest.raises(InvalidRequest):
        catalog.apply_update(product, OWNER, changes, LATER)


def test_apply_update_checks_permission_before_precondition(product: Product) -> None:
    with pytest.raises(Forbidden):
        catalog.apply_update(product, OTHER_SELLER, {"stock": 1}, LATER, if_match='"stale.9"')


def test_apply_update_with_stale_if_match(product: Product) -> None:
    with pytest.raises(PreconditionFailed):
        catalog.apply_update(product, OWNER, {"stock": 1}, LATER, if_match=f'"{product.product_id}.2"')


# --- delete -----------------------------------------------------------------------------------------------------

def test_delete_emits_product_deleted_with_the_deleted_version(product: Product) -> None:
    event = catalog.delete(product, ADMIN)
    assert event.type == "ProductDeleted"
    assert event.aggregate_id == product.product_id
    assert event.data == {"product_id": product.product_id, "seller_id": "seller-1", "version": 1}


@pytest.mark.parametrize("actor", [OTHER_SELLER, CUSTOMER])
def test_delete_by_others_is_forbidden(product: Product, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        catalog.delete(product, actor)


def test_delete_honours_if_match(product: Product) -> None:
    with pytest.raises(PreconditionFailed):
        catalog.delete(product, OWNER, if_match='"nope.1"')
    assert catalog.delete(product, OWNER, if_match=product.etag).type == "ProductDeleted"


def test_event_message_shape(product: Product) -> None:
    _, event = catalog.apply_update(product, OWNER, {"stock": 9}, LATER)
    message = event.to_message()
    assert set(message) == {"event_id", "type", "aggregate_id", "occurred_at", "data"}
    assert is_valid_id(message["event_id"])
    assert message["occurred_at"].endswith("Z")

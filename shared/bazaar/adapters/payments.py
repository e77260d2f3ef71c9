"""The simulated payment provider: a stand-in for a real one (Stripe, Adyen, ...) behind the ``PaymentProvider``
port, in every stage until a real provider is contracted.

It behaves like a provider where Bazaar can tell: calls are idempotent on the caller's key (a repeated charge
returns the first result and moves no more money), ``pm_card_ok`` succeeds, ``pm_card_declined`` is declined
at once, ``pm_async`` stays pending until the provider's webhook decides it. Its ledger is durable and shared by
every container (one item per charge or refund, on the single table under the partition
``PAYPROVIDER#simulated``), so "exactly one charge per order" can be checked in AWS as locally. It never calls
the webhook by itself: for ``pm_async`` the webhook is sent by whoever plays the provider (tests,
``python -m local webhook``).
"""

from __future__ import annotations

from typing import Optional

from pynamodb.exceptions import PutError

from bazaar.adapters.dynamo.models import SimulatedPaymentItem, bind, simulated_payment_keys
from bazaar.domain.clock import utc_now
from bazaar.domain.ids import new_id
from bazaar.domain.orders import PaymentMethod, PaymentOutcome
from bazaar.domain.payments import ChargeRequest, ChargeResult, RefundRequest, RefundResult

OUTCOME_BY_METHOD = {
    PaymentMethod.CARD_OK: PaymentOutcome.SUCCEEDED,
    PaymentMethod.CARD_DECLINED: PaymentOutcome.DECLINED,
    PaymentMethod.ASYNC: PaymentOutcome.PENDING,
}


class SimulatedPaymentProvider:
    def __init__(self, table_name: Optional[str] = None) -> None:
        bind(table_name)

    def _record_once(self, item: SimulatedPaymentItem) -> SimulatedPaymentItem:
        """Store the operation unless its idempotency key was seen; either way return the stored one."""
        try:
            item.save(condition=SimulatedPaymentItem.PK.does_not_exist())
            return item
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
        return SimulatedPaymentItem.get(item.PK, item.SK, consistent_read=True)

    def charge(self, request: ChargeRequest) -> ChargeResult:
        pk, sk = simulated_payment_keys("charge", request.idempotency_key)
        stored = self._record_once(SimulatedPaymentItem(
            pk, sk, kind="charge", idempotency_key=request.idempotency_key, payment_id=f"ch_{new_id()}",
            order_id=request.order_id, amount_cents=request.amount_cents, currency=request.currency,
            method=request.method.value, outcome=OUTCOME_BY_METHOD[request.method].value, created_at=utc_now()))
        return ChargeResult(stored.payment_id, PaymentOutcome(stored.outcome))

    def refund(self, request: RefundRequest) -> RefundResult:
        pk, sk = simulated_payment_keys("refund", request.idempotency_key)
        stored = self._record_once(SimulatedPaymentItem(
            pk, sk, kind="refund", idempotency_key=request.idempotency_key, payment_id=f"re_{new_id()}",
            order_id=request.order_id, amount_cents=request.amount_cents, currency=request.currency,
            outcome="succeeded", created_at=utc_now()))
        return RefundResult(stored.payment_id)

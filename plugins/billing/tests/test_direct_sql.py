"""`direct_sql` against SQLAlchemy's own `execute`: the same rows stored, the same rows read
back, in the caller's transaction, and the same errors."""

import sqlite3
from datetime import UTC, datetime

import pytest
from mindframe_plugins.billing import direct_sql, ledger, stripe_events
from mindframe_plugins.billing.models import customers, metadata, payments, webhooks
from sqlalchemy import bindparam, create_engine, event, insert, select
from sqlalchemy.exc import IntegrityError, MultipleResultsFound

PAYMENTS_OF = select(payments).where(payments.c.customer_id == bindparam("id"))
WHEN = datetime(2026, 11, 30, 6, 5, 4, 321000, tzinfo=UTC)


def database(path):
    engine = create_engine(f"sqlite+pysqlite:///{path}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            insert(customers),
            {
                "id": "cus_1", "user_id": None, "email": None, "name": "A", "country": "NO",
                "locale": "nb", "currency": "NOK", "vat_number": None, "is_business": True,
                "stripe_customer_id": None, "created_at": WHEN, "erased_at": None,
            },
        )  # fmt: skip
    return engine


def through_execute(engine):
    """The same engine's statements forced through `execute`: something listens."""
    event.listen(engine, "before_cursor_execute", lambda *_: None)
    return engine


def payment(payment_id):
    return {
        "id": payment_id, "customer_id": "cus_1", "invoice_id": None, "provider": "stripe",
        "provider_ref": None, "amount": 12500, "currency": "NOK", "state": "created",
        "authorized": 0, "redirect_url": None, "created_at": WHEN, "updated_at": WHEN,
    }  # fmt: skip


def webhook(event_id):
    return {
        "provider": "stripe", "event_id": event_id, "event_type": "payment_intent.succeeded",
        "payload": "{}", "received_at": WHEN, "applied_at": WHEN, "error": None,
    }  # fmt: skip


def the_webhook_path(engine):
    """What a webhook for our own payment does, and what each statement answered."""
    answers = []
    with engine.begin() as connection:
        answers.append(direct_sql.rowcount(connection, stripe_events.INSERT_PAYMENT, payment("p1")))
        answers.append(ledger.insert_once(connection, webhooks, webhook("evt_1")))
        answers.append(ledger.insert_once(connection, webhooks, webhook("evt_1")))  # again
        moved = {"payment": "p1", "now": WHEN, "ref": "pi_1"}
        answers.append(direct_sql.one_or_none(connection, stripe_events.SUCCEED_OURS, moved))
        answers.append(direct_sql.one_or_none(connection, stripe_events.SUCCEED_OURS, moved))
        answers.append(
            direct_sql.one_or_none(connection, stripe_events.PAYMENT_BY_REF, {"ref": "pi_1"})
        )
        answers.append(
            direct_sql.one_or_none(connection, stripe_events.CUSTOMER_BY_ID, {"id": "cus_1"})
        )
        answers.append(
            direct_sql.one_or_none(connection, stripe_events.CUSTOMER_BY_ID, {"id": "x"})
        )
    return answers


def stored(path):
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("billing_payments", "billing_webhooks", "billing_customers")
        }


def test_the_same_rows_are_stored_and_read_back_as_through_execute(tmp_path):
    direct = database(tmp_path / "direct.db")
    usual = through_execute(database(tmp_path / "usual.db"))
    assert the_webhook_path(direct) == the_webhook_path(usual)
    assert stored(tmp_path / "direct.db") == stored(tmp_path / "usual.db")
    moved = the_webhook_path(database(tmp_path / "again.db"))[3]
    assert (moved["state"], moved["provider_ref"], moved["updated_at"]) == (
        "succeeded", "pi_1", WHEN.replace(tzinfo=None)  # SQLite keeps no zone: as execute reads it
    )  # fmt: skip
    assert stored(tmp_path / "direct.db")["billing_payments"][0][-1] == "2026-11-30 06:05:04.321000"


def test_the_statements_are_part_of_the_callers_transaction(tmp_path):
    engine = database(tmp_path / "billing.db")
    with pytest.raises(RuntimeError), engine.begin() as connection:
        assert ledger.insert_once(connection, webhooks, webhook("evt_1"))
        raise RuntimeError("applying failed")
    assert stored(tmp_path / "billing.db")["billing_webhooks"] == []


@pytest.mark.parametrize("listened", [False, True])
def test_errors_are_sqlalchemys_as_through_execute(tmp_path, listened):
    engine = database(tmp_path / "billing.db")
    if listened:
        through_execute(engine)
    with engine.begin() as connection:
        direct_sql.rowcount(connection, stripe_events.INSERT_PAYMENT, payment("p1"))
        with pytest.raises(IntegrityError):  # the same primary key: a database error
            direct_sql.rowcount(connection, stripe_events.INSERT_PAYMENT, payment("p1"))
        direct_sql.rowcount(connection, stripe_events.INSERT_PAYMENT, payment("p2"))
        with pytest.raises(MultipleResultsFound):
            direct_sql.one_or_none(connection, PAYMENTS_OF, {"id": "cus_1"})

"""The ledger's tables. Amounts are integers in minor units, always beside their currency.

`billing_journal` is append-only (a trigger refuses UPDATE and DELETE on SQLite and
PostgreSQL): every change to money is a row there, and balances are sums over it. A money
row's (`kind`, `source`) is unique, `source` being the provider's id of the movement (a
PaymentIntent, a refund, a Vipps pspReference) or our invoice id, so the same movement
reported twice, by an API answer and a webhook, or by two webhooks, is booked once.
"""

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    text,
)

metadata = MetaData()

products = Table(
    "billing_products",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

plans = Table(
    "billing_plans",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("product_id", String(32), ForeignKey("billing_products.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("pricing", String(16), nullable=False),  # flat, per_seat
    Column("interval", String(8), nullable=False),  # month, year
    Column("unit_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("trial_days", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

customers = Table(
    "billing_customers",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(200), nullable=True, index=True),
    Column("email", String(320), nullable=True),
    Column("name", String(200), nullable=True),
    Column("country", String(2), nullable=False),
    Column("locale", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("vat_number", String(32), nullable=True),
    Column("is_business", Boolean, nullable=False),
    Column("stripe_customer_id", String(64), nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
)

subscriptions = Table(
    "billing_subscriptions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("billing_customers.id"), nullable=True),
    Column("plan_id", String(32), nullable=True),
    Column("seats", Integer, nullable=False),
    Column("status", String(24), nullable=False),  # trialing active past_due cancelled …
    Column("cancel_at_period_end", Boolean, nullable=False),
    Column("current_period_end", DateTime(timezone=True), nullable=True),
    # when the first period we bill (Vipps) began: each period ends whole months or years
    # after it, so one begun on the 31st ends on the 31st wherever a month has one
    Column("period_anchor", DateTime(timezone=True), nullable=True),
    Column("trial_end", DateTime(timezone=True), nullable=True),
    Column("provider", String(16), nullable=False),
    Column("provider_ref", String(64), nullable=True, unique=True),
    Column("provider_version", BigInteger, nullable=False),  # newest applied event's `created`
    Column("created_at", DateTime(timezone=True), nullable=False),
)

invoices = Table(
    "billing_invoices",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("number", String(40), nullable=True, unique=True),  # given at finalisation
    Column("customer_id", String(32), ForeignKey("billing_customers.id"), nullable=False),
    Column("subscription_id", String(32), nullable=True),
    Column("status", String(16), nullable=False),  # draft open paid void uncollectible
    Column("currency", String(3), nullable=False),
    Column("lines", JSON, nullable=False),
    Column("subtotal", BigInteger, nullable=False),
    Column("vat_rate", String(8), nullable=False),  # percent, a decimal string: "25.5"
    Column("vat_amount", BigInteger, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("reverse_charge", Boolean, nullable=False),
    Column("buyer", JSON, nullable=False),  # name, country, VAT number as invoiced
    Column("locale", String(16), nullable=False),
    Column("provider_ref", String(64), nullable=True, unique=True),
    Column("dunning_attempts", Integer, nullable=False),  # failed collections so far
    Column("dunning_decided", Integer, nullable=False),  # failures the policy has answered
    Column("next_retry_at", DateTime(timezone=True), nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=True),
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("billing_invoices_retry", "status", "next_retry_at"),
)

vipps_agreements = Table(
    "billing_vipps_agreements",
    metadata,
    # a Vipps MobilePay recurring agreement behind a subscription (provider "vipps",
    # provider_ref = the agreement id): PENDING until the customer accepts it in the app,
    # ACTIVE while it may be charged, then STOPPED or EXPIRED for good
    Column("id", String(64), primary_key=True),  # Vipps's agreementId
    Column("subscription_id", String(32), nullable=False, unique=True),
    Column("customer_id", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("confirmation_url", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

invoice_mail = Table(
    "billing_invoice_mail",
    metadata,
    # the outbox of invoice mail: a row is written in the transaction that finalises the
    # invoice, and `handed_at` set once the mail plugin has queued it (its key: the invoice)
    Column("invoice_id", String(32), ForeignKey("billing_invoices.id"), primary_key=True),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("handed_at", DateTime(timezone=True), nullable=True),
    Column("mail_id", String(36), nullable=True),  # the mail plugin's QueuedMail.id
    Column("error", Text, nullable=True),  # why the mail plugin refused it, if it did
    Index(
        "billing_invoice_mail_pending",
        "queued_at",
        sqlite_where=text("handed_at IS NULL"),
        postgresql_where=text("handed_at IS NULL"),
    ),
)

dunning_mail = Table(
    "billing_dunning_mail",
    metadata,
    # the outbox of dunning mail: a row per notified attempt, written in the transaction
    # that records the dunning step; `handed_at` set once the mail plugin has queued it
    Column("invoice_id", String(32), ForeignKey("billing_invoices.id"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("retry_at", DateTime(timezone=True), nullable=True),  # None: dunning gave up
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("handed_at", DateTime(timezone=True), nullable=True),
    Column("mail_id", String(36), nullable=True),
    Column("error", Text, nullable=True),
)

invoice_sequences = Table(
    "billing_invoice_sequences",
    metadata,
    Column("series", String(16), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

payments = Table(
    "billing_payments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_id", String(32), ForeignKey("billing_customers.id"), nullable=True),
    Column("invoice_id", String(32), nullable=True),
    Column("provider", String(16), nullable=False),  # stripe, vipps
    Column("provider_ref", String(64), nullable=True, unique=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(32), nullable=False),
    Column("authorized", BigInteger, nullable=False),
    Column("redirect_url", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

journal = Table(
    "billing_journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", String(32), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # invoice, payment, refund
    Column("source", String(80), nullable=False),
    Column("amount", BigInteger, nullable=False),  # + the customer owes, - the customer paid
    Column("currency", String(3), nullable=False),
    Column("invoice_id", String(32), nullable=True),
    Column("payment_id", String(32), nullable=True, index=True),
    Column("cause", String(120), nullable=True),  # the webhook event or call that booked it
    Column("booked_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "source", name="billing_journal_once"),
)

webhooks = Table(
    "billing_webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("provider", String(16), nullable=False),
    Column("event_id", String(120), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("provider", "event_id", name="billing_webhooks_once"),
    # only the few unapplied rows: a webhook applied on arrival (nearly all) touches no index
    Index(
        "billing_webhooks_pending",
        "id",
        sqlite_where=text("applied_at IS NULL"),
        postgresql_where=text("applied_at IS NULL"),
    ),
)

APPEND_ONLY = "billing_journal is append-only: book a correcting entry instead"

for _when in ("UPDATE", "DELETE"):
    event.listen(
        journal,
        "after_create",
        DDL(
            f"CREATE TRIGGER billing_journal_no_{_when.lower()} BEFORE {_when} ON billing_journal "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
        ).execute_if(dialect="sqlite"),
    )
for _statement in (
    "CREATE FUNCTION billing_journal_refuse() RETURNS trigger AS $$ BEGIN "
    f"RAISE EXCEPTION '{APPEND_ONLY}'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER billing_journal_append_only BEFORE UPDATE OR DELETE ON billing_journal "
    "FOR EACH ROW EXECUTE FUNCTION billing_journal_refuse()",
):
    event.listen(journal, "after_create", DDL(_statement).execute_if(dialect="postgresql"))

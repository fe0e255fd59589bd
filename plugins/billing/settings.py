"""What can be set in `[billing]` of mindframe.toml (or `MINDFRAME_BILLING__STRIPE_WEBHOOK_SECRET`).

Secrets are `SecretStr`: they print as `**********` in logs, errors and `repr`, and no route
returns them. They come only from settings (the file or the environment)."""

from pydantic import Field, SecretStr

from mindframe.sdk import PluginSettings


class BillingSettings(PluginSettings):
    seller_country: str = Field(min_length=2, max_length=2, description="ISO 3166 code")
    seller_name: str
    seller_vat_number: str
    invoice_series: str = Field(min_length=1, max_length=16, description="invoice number prefix")
    invoice_due_days: int = Field(ge=0)
    retention_years: int = Field(
        ge=1, description="years invoices, payments and the journal are kept after erasure"
    )
    public_url: str = Field(description="where customers come back to after a checkout")
    stripe_api_key: SecretStr
    stripe_api_base: str
    stripe_webhook_secret: SecretStr
    vipps_api_base: str
    vipps_client_id: SecretStr
    vipps_client_secret: SecretStr
    vipps_subscription_key: SecretStr
    vipps_merchant_serial_number: str
    vipps_webhook_secret: SecretStr
    webhook_tolerance: int = Field(gt=0, description="seconds a signed timestamp may be off")
    provider_timeout: float = Field(gt=0)
    apply_interval: float = Field(gt=0, description="seconds between retries of stored webhooks")
    dunning_interval: float = Field(gt=0)
    reconcile_interval: float = Field(gt=0)

"""The plugin's singleton jobs, kept where health and operators can find them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mindframe.sdk import Job


@dataclass
class BillingJobs:
    """`apply` (stored webhooks not yet applied), `mail` (finalised invoices not yet handed
    to the mail plugin), `dunning`, `renewals` (Vipps agreements' periods to invoice and
    charge), `reconcile`, `retention`; `job.wake()` runs one now.
    `differences` is what the last reconciliation found."""

    jobs: dict[str, Job] = field(default_factory=dict)
    differences: int | None = None
    invoice_mail: Any = None  # the InvoiceMail outbox, for health

    def wake(self, name: str) -> None:
        if name in self.jobs:
            self.jobs[name].wake()

"""The plugin's singleton jobs, kept where health and operators can find them."""

from __future__ import annotations

from dataclasses import dataclass, field

from mindframe.sdk import Job


@dataclass
class BillingJobs:
    """`apply` (stored webhooks not yet applied), `dunning`, `reconcile`, `retention`;
    `job.wake()` runs one now. `differences` is what the last reconciliation found."""

    jobs: dict[str, Job] = field(default_factory=dict)
    differences: int | None = None

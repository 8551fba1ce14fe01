"""CRM write-back: scores, grades, stage and top reasons pushed into HubSpot and
Salesforce through a durable outbox (see docs/crm.md)."""

from leadscore.crm.config import CrmConfig, CrmConfigError, load_config
from leadscore.crm.outbox import enqueue_crm_sync

__all__ = ["CrmConfig", "CrmConfigError", "enqueue_crm_sync", "load_config"]

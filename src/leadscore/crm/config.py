"""The CRM write-back configuration: one YAML file (``--crm`` / ``LEADSCORE_CRM``).

Example (docs/crm.md explains every key)::

    hubspot:
      token_env: HUBSPOT_TOKEN        # a private-app token, sent as Bearer
      identify_by: email              # or a contact field holding the HubSpot record id
      properties:                     # leadscore field -> HubSpot contact property
        score.fit: leadscore_fit
        grade: leadscore_grade
        stage: leadscore_stage
        top_reasons: leadscore_top_reasons
    salesforce:
      token_env: SALESFORCE_ACCESS_TOKEN
      instance_url_env: SALESFORCE_INSTANCE_URL
      id_field: salesforce_id         # contact field holding the Lead or Contact record id
      objects:
        Lead: {score.fit: Lead_Score__c, grade: Lead_Grade__c}
        Contact: {score.fit: Contact_Score__c}

Tokens never live in the file: it names the environment variable that holds them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CONNECTORS = ("hubspot", "salesforce")

# What a contact's current score offers to a CRM (``score.<name>`` / ``grade.<name>``
# name one score of the model).
FIXED_FIELDS = (
    "grade",
    "stage",
    "threshold_stage",
    "surging",
    "top_reasons",
    "model_version",
    "scored_at",
)
FIELD_PATTERN = re.compile(r"^(score|grade)\.[A-Za-z0-9_\-]+$")


class CrmConfigError(ValueError):
    """A configuration that cannot work, naming the file and the key."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_fields(mapping: dict[str, str]) -> dict[str, str]:
    for field in mapping:
        if field not in FIXED_FIELDS and not FIELD_PATTERN.match(field):
            raise ValueError(
                f"unknown leadscore field '{field}' (use score.<name>, grade.<name> or one of "
                f"{', '.join(FIXED_FIELDS)})"
            )
    if not mapping:
        raise ValueError("map at least one leadscore field to a CRM property")
    return mapping


class SyncSettings(Strict):
    """Retry policy shared by both connectors (tests shorten the waits)."""

    max_attempts: int = Field(15, ge=1)  # sends of a row before it becomes a dead letter
    backoff_base: float = Field(2.0, gt=0)  # seconds before the 2nd attempt; doubles each time
    backoff_max: float = Field(3600.0, gt=0)
    request_retries: int = Field(3, ge=0)  # in-call retries of a 429/5xx/timeout
    retry_base: float = Field(0.5, ge=0)  # first in-call retry wait; doubles
    retry_after_max: float = Field(60.0, ge=0)  # never sleep longer on one Retry-After
    timeout: float = Field(30.0, gt=0)
    lease_seconds: float = Field(600.0, gt=0)  # a dead sender's rows are taken over after this
    interval: float = Field(1.0, gt=0)  # how often the service looks for due rows


class HubSpotSettings(Strict):
    base_url: str = "https://api.hubapi.com"
    token_env: str = "HUBSPOT_TOKEN"
    # ``email`` (idProperty=email) or the name of a contact field holding the record id.
    identify_by: str = "email"
    create_properties: bool = True
    property_group: str = "leadscore"
    property_group_label: str = "Leadscore"
    batch_size: int = Field(100, ge=1, le=100)
    # HubSpot's private-app burst limit: 190 requests per 10 s (Professional/Enterprise).
    rate_limit: int = Field(190, ge=1)
    rate_window: float = Field(10.0, gt=0)
    properties: Annotated[dict[str, str], Field(min_length=1)]

    _fields = field_validator("properties")(_check_fields)

    def token(self) -> str:
        return _env(self.token_env, "hubspot.token_env")


class SalesforceSettings(Strict):
    instance_url: str | None = None  # overrides the variable (tests)
    instance_url_env: str = "SALESFORCE_INSTANCE_URL"
    token_env: str = "SALESFORCE_ACCESS_TOKEN"
    api_version: str = Field("62.0", pattern=r"^\d+\.\d$")
    id_field: str = "salesforce_id"
    batch_size: int = Field(200, ge=1, le=200)
    objects: dict[Literal["Lead", "Contact"], dict[str, str]] = Field(min_length=1)

    @field_validator("objects")
    @classmethod
    def _mapped(cls, objects: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for mapping in objects.values():
            _check_fields(mapping)
        return objects

    def token(self) -> str:
        return _env(self.token_env, "salesforce.token_env")

    def base_url(self) -> str:
        return self.instance_url or _env(self.instance_url_env, "salesforce.instance_url_env")

    def base_url_key(self) -> str:
        """Where the instance URL came from, for errors."""
        if self.instance_url:
            return "salesforce.instance_url"
        return f"{self.instance_url_env} (salesforce.instance_url_env)"


class CrmConfig(Strict):
    hubspot: HubSpotSettings | None = None
    salesforce: SalesforceSettings | None = None
    sync: SyncSettings = Field(default_factory=lambda: SyncSettings.model_validate({}))

    @property
    def connectors(self) -> tuple[str, ...]:
        return tuple(name for name in CONNECTORS if getattr(self, name) is not None)


def check_addresses(config: CrmConfig, allow: Sequence[str] = ()) -> None:
    """Refuse a CRM URL on loopback, the private network or the metadata service
    (unless ``allow`` lists its network; see :mod:`leadscore.service.outbound`).

    Run when the service or ``leadscore sync`` starts; every request checks again.
    A Salesforce instance variable that is not set yet is left to the start-up
    check of the tokens.
    """
    urls: list[tuple[str, str]] = []
    if config.hubspot is not None:
        urls.append((config.hubspot.base_url, "hubspot.base_url"))
    sf = config.salesforce
    if sf is not None and (sf.instance_url or os.environ.get(sf.instance_url_env, "").strip()):
        urls.append((sf.base_url(), sf.base_url_key()))
    for url, key in urls:
        check_crm_url(url, allow, key)


def check_crm_url(url: str, allow: Sequence[str], key: str) -> None:
    """:func:`~leadscore.service.outbound.check_url` as a :class:`CrmConfigError`."""
    from leadscore.service.errors import Invalid
    from leadscore.service.outbound import check_url

    try:
        check_url(url.rstrip("/"), allow, key)
    except Invalid as exc:
        raise CrmConfigError(exc.message) from None
    except ValueError as exc:  # a bad allow-list entry
        raise CrmConfigError(str(exc)) from None


def _env(name: str, key: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise CrmConfigError(f"environment variable {name} is not set (named by {key})")
    return value


def parse_config(data: Any, source: str = "CRM config") -> CrmConfig:
    if not isinstance(data, dict):
        raise CrmConfigError(f"{source}: expected a mapping with hubspot: and/or salesforce:")
    try:
        config = CrmConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise CrmConfigError(f"{source}: {problems}") from None
    if not config.connectors:
        raise CrmConfigError(f"{source}: configure hubspot: and/or salesforce:")
    return config


def load_config(path: str | Path) -> CrmConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CrmConfigError(f"{path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise CrmConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return parse_config(data, str(path))

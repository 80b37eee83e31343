"""License settings: the ``[licenses]`` table of the TD's config.

    [licenses]
    revocation_mode = "online"          # or "offline": use the cached revocation lists only
    revocation_max_age_hours = 24       # past this a cached list is not trusted (fail closed)
    clock_skew_s = 300                  # a registry's record dated further ahead of this clock is refused
    min_match_threshold = 0.45          # floor under every license's own identity threshold
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping

from faceright.config import Config, settings_from, tables_of

from .strictjson import DEFAULT_MAX_BYTES

RevocationMode = Literal["online", "offline"]

#: NRTA special topics: a shot tagged with one goes through joint review, i.e. tier "key"
NRTA_SPECIAL_TOPICS = (
    "political", "military", "diplomacy", "national_security", "united_front", "ethnicity", "religion",
    "judicial", "police",
)


@dataclass(frozen=True)
class LicenseSettings:
    max_document_bytes: int = DEFAULT_MAX_BYTES
    revocation_mode: RevocationMode = "online"
    revocation_max_age_hours: float = 24.0
    #: how far a registry's clock may run ahead of ours; a list or status dated later is refused
    clock_skew_s: float = 300.0
    connect_timeout_s: float = 3.05
    read_timeout_s: float = 10.0
    retries: int = 3                      #: further attempts after the first, on timeouts, 429 and 5xx
    backoff_s: float = 0.5                #: first pause between attempts; doubles each time
    max_backoff_s: float = 8.0
    max_response_bytes: int = 16 * 1024 * 1024
    #: hosts a registry may be reached on over plain http (statuses are signed either way)
    plain_http_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
    min_match_threshold: float = 0.0      #: the TD's floor; a license's lower threshold is raised to it
    #: AI micro-drama tiers by budget (NRTA 2026 tier notice, to be verified): at or above → that tier
    key_tier_budget_cny: int = 800_000
    ordinary_tier_budget_cny: int = 300_000
    special_topics: tuple[str, ...] = NRTA_SPECIAL_TOPICS

    @property
    def revocation_max_age_s(self) -> float:
        return self.revocation_max_age_hours * 3600.0


def license_settings(config: Config | Mapping[str, Any] | None = None, **overrides: Any) -> LicenseSettings:
    """Settings from the config file's ``[licenses]`` table, then ``overrides``."""
    return settings_from(LicenseSettings, tables_of(config).get("licenses"), where="[licenses]", **overrides)

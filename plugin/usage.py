"""Where and how a licensed face will be used: the part of a FaceShot a license must cover."""
from __future__ import annotations

import typing
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Literal

Tier = Literal["other", "ordinary", "key"]
TIERS: tuple[Tier, ...] = typing.get_args(Tier)  # ascending
Medium = Literal["episode", "trailer", "promo_still", "advertising"]
MEDIA: tuple[Medium, ...] = typing.get_args(Medium)
Use = Literal["face_replacement", "pickup_reshoot", "de_aging"]
USES: tuple[Use, ...] = typing.get_args(Use)


@dataclass(frozen=True)
class Usage:
    """Where and how the licensed face will be used.

    ``when`` is the publish date: a ``date`` is a calendar day in the document's own zone
    (``term.utc_offset``); a ``datetime`` must carry its UTC offset and is converted into that zone.
    """

    production: str
    platform: str
    territory: str
    when: date | datetime
    medium: Medium = "episode"
    use: Use = "face_replacement"
    language: str | None = None
    episode: int | None = None
    character: str | None = None
    content_tags: tuple[str, ...] = ()
    tier: Tier | None = None
    budget_cny: int | None = None
    licensee_code: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.when, datetime) and (self.when.tzinfo is None or self.when.utcoffset() is None):
            raise ValueError("a publish date-time needs its UTC offset (e.g. 2026-05-01T09:00:00+08:00)")

    def local_date(self, zone: timezone) -> date:
        if isinstance(self.when, datetime):
            return self.when.astimezone(zone).date()
        return self.when

    def instant(self, zone: timezone) -> datetime:
        if isinstance(self.when, datetime):
            return self.when
        return datetime.combine(self.when, time(0, 0), tzinfo=zone)

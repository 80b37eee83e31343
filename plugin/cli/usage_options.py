"""The usage options (where and how a licensed face is used), shared by ``swap`` and ``license verify``."""
from __future__ import annotations

import argparse
from datetime import date, datetime

from faceright.usage import MEDIA, TIERS, USES, Usage


def _shot_date(text: str) -> date | datetime:
    from faceright.licenses.document import parse_date, parse_datetime

    try:
        return parse_datetime(text) if "T" in text else parse_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_usage_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    group = parser.add_argument_group("usage (what the license and release must cover)")
    group.add_argument("--production", required=required, help="the production's project id (PRJ-0001)")
    group.add_argument("--platform", required=required, help="where it is published (douyin, hongguo...)")
    group.add_argument("--territory", required=required, help="territory code (CN)")
    group.add_argument("--date", required=required, type=_shot_date,
                       help="publish date YYYY-MM-DD (in the license's zone) or date-time with offset")
    group.add_argument("--medium", choices=MEDIA, default="episode", help="what is made (default: episode)")
    group.add_argument("--use", choices=USES, default="face_replacement",
                       help="how the face is used (default: face_replacement)")
    group.add_argument("--language", help="the language of the release (zh, en...)")
    group.add_argument("--episode", type=int, help="the episode number")
    group.add_argument("--character", help="the character the face plays")
    group.add_argument("--tag", action="append", default=[], dest="tags", metavar="TAG",
                       help="a content tag of the shot (political, gore_violence...); repeat")
    group.add_argument("--tier", choices=TIERS, help="the production's NRTA review tier")
    group.add_argument("--budget", type=int, metavar="CNY", help="the production budget (sets the tier too)")
    group.add_argument("--licensee", metavar="PROVIDER_CODE", help="the studio's 27-character AIGC provider code")


def usage_from_args(args: argparse.Namespace) -> Usage:
    return Usage(
        production=args.production, platform=args.platform, territory=args.territory, when=args.date,
        medium=args.medium, use=args.use, language=args.language, episode=args.episode,
        character=args.character, content_tags=tuple(args.tags), tier=args.tier, budget_cny=args.budget,
        licensee_code=args.licensee,
    )

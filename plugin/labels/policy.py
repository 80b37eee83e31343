"""What an output must carry, and the ``[labels]`` settings that say how.

Two targets (DESIGN.md, Labels): a **shot** output (one rendered face shot) carries the
implicit label, the ``AIGC`` metadata object; a **deliverable** (a timeline render, a
published comp: what a viewer gets) carries the metadata *and* the visible text. The
thresholds are the standard's as implementers quote it (compliance.md §1.3), kept as settings
because the video clause's wording is still to be checked.

    [labels]
    provider_code = "001191110000MA0000000X10002"   # 27-char TC260 code (ContentProducer)
    signing_key = "/studio/keys/aigc-ed25519.pem"     # signs ReservedCode1
    public_key = "/studio/keys/aigc-ed25519.pub.pem"  # verify checks ReservedCode1 with it
    wording = "AI生成"
    position = "bottom-right"
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, get_args

from faceright.config import Config, settings_from, tables_of
from faceright.errors import ConfigError
from faceright.home import faceright_home

Target = Literal["shot", "deliverable"]
TARGETS: tuple[Target, ...] = get_args(Target)

Position = Literal["bottom-right", "bottom-left", "top-right", "top-left", "bottom", "top", "left", "right"]
POSITIONS: tuple[Position, ...] = get_args(Position)

Style = Literal["outline", "box"]
STYLES: tuple[Style, ...] = get_args(Style)

LabelKind = Literal["metadata", "visible", "c2pa"]

#: the findings a label policy may lower from a block to a warning: evidence that could not be
#: checked, never evidence found wrong
Lowerable = Literal["c2pa.read_failed", "aigc.signature_unchecked", "aigc.signature_scheme_unknown",
                    "aigc.content_unbound", "aigc.content_scheme_unknown"]
LOWERABLE: tuple[Lowerable, ...] = get_args(Lowerable)


@dataclass(frozen=True)
class LabelSettings:
    # implicit label (AIGC object)
    provider_code: str | None = None         #: ContentProducer: the 27-char provider code
    label_value: Literal["1", "2", "3"] = "1"   #: Label: 1 = AI-generated
    signing_key: Path | None = None          #: Ed25519 private key (PEM); default FACERIGHT_HOME/labels/aigc-ed25519.pem
    public_key: Path | None = None           #: Ed25519 public key (PEM) for verify; default beside the private key
    # explicit label (visible text)
    wording: str = "AI生成"
    font: Path | None = None                 #: font for wording the shipped font cannot render (TTF/OTF/TTC)
    position: Position = "bottom-right"
    style: Style = "outline"                 #: white text with a dark outline, or on a translucent box
    height_ratio: float = 0.065              #: rendered glyph height / shorter side (above the 5 % minimum)
    margin_ratio: float = 0.04               #: gap between the text and the frame edge / shorter side
    duration_s: float | None = None          #: how long from the first frame; None = the whole clip
    repeat_every_s: float | None = None      #: show again every N s (for duration_s each time)
    repeat_at_end: bool = False              #: show during the last duration_s too
    # thresholds verify applies (standard's defaults)
    min_height_ratio: float = 0.05
    min_duration_s: float = 2.0
    edge_band_ratio: float = 0.2             #: a label is at an edge when it lies within this share of the frame from it
    required_ai: str = "人工智能|AI"          #: regex: the wording must contain one of these ...
    required_generated: str = "生成|合成"     #: ... and one of these
    # C2PA and OCR
    require_c2pa: bool = False               #: verify fails when no valid C2PA manifest is present
    c2pa_cert_chain: Path | None = None      #: PEM: leaf certificate then CA
    c2pa_key: Path | None = None             #: PEM private key of the leaf (ES256)
    c2pa_trust_anchors: Path | None = None   #: PEM of trusted CA(s); without, a valid manifest is "untrusted"
    ocr_models: Path | None = None           #: folder with the PP-OCRv4 det/rec ONNX files (default: rapidocr wheel)
    # policy
    warn_only: tuple[Lowerable, ...] = ()    #: finding codes reported as warnings instead of blocking

    def __post_init__(self) -> None:
        unknown = sorted(set(self.warn_only) - set(LOWERABLE))
        if unknown:
            raise ConfigError(f"[labels].warn_only cannot lower {', '.join(unknown)}; "
                              f"it may list {', '.join(LOWERABLE)}")
        for name in ("height_ratio", "min_height_ratio", "margin_ratio", "edge_band_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value < 0.5:
                raise ConfigError(f"[labels].{name} must be a fraction in [0, 0.5), got {value}")
        if self.min_duration_s <= 0:
            raise ConfigError(f"[labels].min_duration_s must be positive, got {self.min_duration_s}")
        if self.duration_s is not None and self.duration_s < self.min_duration_s:
            raise ConfigError(
                f"[labels].duration_s = {self.duration_s} s is shorter than min_duration_s = {self.min_duration_s} s: "
                f"the visible label must stay at least that long"
            )
        if self.repeat_every_s is not None and self.repeat_every_s <= (self.duration_s or 0):
            raise ConfigError(
                f"[labels].repeat_every_s = {self.repeat_every_s} s must be longer than duration_s = {self.duration_s} s "
                f"(set duration_s for a repeating label)"
            )
        if self.height_ratio < self.min_height_ratio:
            raise ConfigError(
                f"[labels].height_ratio = {self.height_ratio} renders smaller than min_height_ratio = {self.min_height_ratio}"
            )

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key if self.signing_key is not None else faceright_home() / "labels" / "aigc-ed25519.pem"

    @property
    def public_key_path(self) -> Path:
        if self.public_key is not None:
            return self.public_key
        return self.signing_key_path.with_name(self.signing_key_path.stem + ".pub.pem")


def label_settings(config: Config | Mapping[str, Any] | None = None, **overrides: Any) -> LabelSettings:
    """Settings from the config file's ``[labels]`` table, then ``overrides`` (CLI options).

    Default paths below FACERIGHT_HOME are resolved here, once, not on each use."""
    table = tables_of(config).get("labels") or {}
    if overrides.get("signing_key") is None and "signing_key" not in table:
        home = config.home if isinstance(config, Config) else faceright_home()
        overrides["signing_key"] = home / "labels" / "aigc-ed25519.pem"
    return settings_from(LabelSettings, table, where="[labels]", **overrides)


def required_labels(target: Target, settings: LabelSettings) -> frozenset[LabelKind]:
    """The labels an output of ``target`` must carry: shots the metadata, deliverables also the text."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    kinds: set[LabelKind] = {"metadata"}
    if target == "deliverable":
        kinds.add("visible")
    if settings.require_c2pa:
        kinds.add("c2pa")
    return frozenset(kinds)

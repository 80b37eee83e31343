"""Open Job Description path mapping (``pathmapping-1.0``): a submitter's paths on a worker.

Deadline Cloud hands each session a rules file (``{{Session.PathMappingRulesFile}}``):

    {"version": "pathmapping-1.0", "path_mapping_rules": [
        {"source_path_format": "WINDOWS", "source_path": "S:\\\\show", "destination_path": "/mnt/show"}]}

faceright names media ``root:relative`` (the TD's path roots) so that most shots need no
mapping; a plain path a submitter left in a shot is mapped by the first rule whose source is a
prefix of it (Windows rules compare case-insensitively, either slash), the longest first.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from faceright.errors import ConfigError
from faceright.paths import split_ref

VERSION = "pathmapping-1.0"


@dataclass(frozen=True)
class Rule:
    source_format: str          #: "WINDOWS" or "POSIX"
    source: str
    destination: str


@dataclass(frozen=True)
class PathMapping:
    rules: tuple[Rule, ...] = ()

    @classmethod
    def load(cls, path: str | Path | None) -> PathMapping:
        """The rules in ``path`` (none when it is empty or absent, as a session without rules has)."""
        if not path or not Path(path).is_file() or Path(path).stat().st_size == 0:
            return cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"the path-mapping rules {path} cannot be read: {exc}") from None
        if data == {}:     # what a session without rules is handed
            return cls()
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ConfigError(f"the path-mapping rules {path} are not {VERSION}")
        rules = []
        for item in data.get("path_mapping_rules") or ():
            try:
                rules.append(Rule(str(item["source_path_format"]).upper(), str(item["source_path"]),
                                  str(item["destination_path"])))
            except (KeyError, TypeError):
                raise ConfigError(f"a rule in {path} lacks source_path_format, source_path or destination_path") from None
        return cls(tuple(sorted(rules, key=lambda r: -len(r.source))))

    def apply(self, name: str | None) -> str | None:
        """``name`` mapped by the first matching rule; a root name or an unmatched path unchanged."""
        if name is None or split_ref(name) is not None:
            return name
        for rule in self.rules:
            if rule.source_format == "WINDOWS":
                path, base = PureWindowsPath(name), PureWindowsPath(rule.source)
                parts = [p.lower() for p in path.parts]
                if parts[: len(base.parts)] == [p.lower() for p in base.parts]:
                    return str(PurePosixPath(rule.destination, *path.parts[len(base.parts):]))
            else:
                path, base = PurePosixPath(name), PurePosixPath(rule.source)
                if path.parts[: len(base.parts)] == base.parts:
                    return str(PurePosixPath(rule.destination, *path.parts[len(base.parts):]))
        return name

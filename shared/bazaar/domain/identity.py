"""Who is acting: the authenticated caller as the domain needs to know it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    sub: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups

    def in_any(self, groups: tuple[str, ...]) -> bool:
        return bool(self.groups.intersection(groups))

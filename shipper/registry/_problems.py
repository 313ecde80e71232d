"""Registry problems: one line each, naming the file, the JSON pointer and the rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    pointer: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}#{self.pointer}" if self.pointer else self.file
        return f"{where}: [{self.rule}] {self.message}"


class RegistryError(Exception):
    """The registry does not load or breaks a rule; `problems` holds every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

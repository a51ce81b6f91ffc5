"""One error hierarchy for the whole copilot.

::

    CopilotError
    ├── InputError            the caller (a dispatcher, a partner system, the model) can fix it
    │   ├── ImportFailed      a world/CSV import was rejected; names file, row and column
    │   ├── NotFound          an id that does not exist (unknown order, vehicle, depot, plan)
    │   └── ReadOnlyViolation a write attempted while answering a question (a what-if): refused
    ├── InfeasibleError       the request is well formed but cannot be satisfied; carries the reason
    └── ConfigurationError    the installation is wrong (missing extra, unreachable database, ...)

Anything else that escapes is a bug and is raised as it is.
"""

from __future__ import annotations


class CopilotError(Exception):
    """Base of every error the copilot raises on purpose."""


class InputError(CopilotError, ValueError):
    """Bad input that the caller can fix; the message says what was expected."""


class ImportFailed(InputError):
    """An import was rejected. ``problems`` lists every located problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:20])
        more = len(self.problems) - 20
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"import rejected, nothing was changed ({len(self.problems)} problem(s)):\n{shown}{tail}")


class NotFound(InputError, KeyError):
    """An id that is not in the store."""

    def __init__(self, kind: str, ident: str, known: list[str] | None = None) -> None:
        self.kind = kind
        self.ident = ident
        hint = ""
        if known:
            sample = ", ".join(sorted(known)[:8])
            hint = f" (known {kind} ids include: {sample})"
        msg = f"unknown {kind} id {ident!r}{hint}"
        super().__init__(msg)
        self.args = (msg,)

    def __str__(self) -> str:
        return str(self.args[0])


class ReadOnlyViolation(InputError):
    """A tool tried to write while the request was a question ("just asking", "what if"): nothing was written."""


class InfeasibleError(CopilotError):
    """The request cannot be satisfied; ``reason`` explains why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class ConfigurationError(CopilotError):
    """The installation or configuration is wrong; the message says how to fix it."""

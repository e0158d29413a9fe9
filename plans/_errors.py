"""The errors a user can cause, each able to say where and what to do."""

from __future__ import annotations

__all__ = ["ExpressionError", "MissingEventError", "PlanError"]


class ExpressionError(ValueError):
    """A time expression that cannot be read or expanded.

    ``expression`` is the text as the user wrote it, ``message`` what was not
    understood, ``hint`` what to do about it.
    """

    def __init__(self, expression: str, message: str, hint: str | None = None) -> None:
        self.expression = expression
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"“{self.expression}”: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text

    def for_expression(self, expression: str) -> ExpressionError:
        """Return the same error quoting the whole expression it came from."""
        if self.expression == expression:
            return self
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.expression = expression
        ValueError.__init__(clone, str(clone))
        return clone


class MissingEventError(ExpressionError):
    """An expression refers to a named event whose date nobody gave."""

    def __init__(self, event: str) -> None:
        self.event = event
        short = event
        for suffix in ("胜利召开", "召开", "开幕", "举行", "闭幕"):
            short = short.removesuffix(suffix)
        short = short.removeprefix("党的") or event
        super().__init__(
            event,
            f"refers to the event “{event}”, whose date is not known",
            f"give its date under `events:` in the plan (events: {{{short}: YYYY-MM-DD}}) "
            f"or with --events FILE",
        )


class PlanError(ValueError):
    """One or more problems in a plan or units file, each as ``file:line: field: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))

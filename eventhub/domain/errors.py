"""Errors the domain raises for input it cannot accept."""


class InvalidField(ValueError):
    """A value the caller sent is not acceptable; `field` names it (`groups[1].timezone`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Control characters other than tab and newlines: meaningless in text, and PostgreSQL refuses NUL outright.
_CONTROL = frozenset(chr(code) for code in [*range(0, 9), 11, 12, *range(14, 32), 127])


def refuse_control_characters(text: str, field: str) -> str:
    """`text` unchanged, or InvalidField if it holds a control character."""
    if not _CONTROL.isdisjoint(text):
        raise InvalidField(field, "must not contain control characters")
    return text

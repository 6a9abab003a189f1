"""Errors the domain raises for input it cannot accept."""


class InvalidField(ValueError):
    """A value the caller sent is not acceptable; `field` names it (`groups[1].timezone`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

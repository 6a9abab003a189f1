"""Errors the domain raises for input it cannot accept, and the one check every stored text passes."""

import re


class InvalidField(ValueError):
    """A value the caller sent is not acceptable; `field` names it (`groups[1].timezone`)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# Control characters other than tab and newlines (C0, DEL, C1) and lone surrogate halves: meaningless in text,
# unencodable as UTF-8 (surrogates), refused by PostgreSQL (NUL), and able to break an email or a calendar line.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Unicode's line and paragraph separators end a line in JavaScript and some mail readers: stored as a newline.
_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n"})


def refuse_control_characters(text: str, field: str) -> str:
    """`text` with U+2028/U+2029 stored as newlines, or InvalidField naming `field` if it holds a control
    character (other than tab and newlines) or a lone surrogate."""
    if _UNSAFE.search(text):
        raise InvalidField(field, "must not contain control characters or unpaired surrogates")
    return text.translate(_SEPARATORS)

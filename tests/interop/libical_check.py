"""libical's RFC 5546 (iTIP) restriction check of an iCalendar file, as Evolution and GNOME read invites.

Runs under the SYSTEM python (/usr/bin/python3), where Debian's `python3-gi` and `gir1.2-ical-3.0` live;
the project's venv has neither. Reads the .ics from stdin and prints {"errors": [...]} as JSON: every
X-LIC-ERROR property libical attached anywhere in the parsed tree (parse errors and iTIP restriction
violations alike). Exits 3 with a message on stderr when the bindings are missing.
"""

import json
import sys

try:
    import gi

    gi.require_version("ICalGLib", "3.0")
    from gi.repository import ICalGLib
except (ImportError, ValueError) as exc:
    sys.stderr.write(f"libical bindings missing ({exc}): install the Debian packages python3-gi gir1.2-ical-3.0\n")
    sys.exit(3)


def lic_errors(component) -> list[str]:
    """The X-LIC-ERROR values of `component` and all its sub-components."""
    found = []
    prop = component.get_first_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
    while prop is not None:
        found.append(f"{ICalGLib.Component.kind_to_string(component.isa())}: {prop.get_xlicerror()}")
        prop = component.get_next_property(ICalGLib.PropertyKind.XLICERROR_PROPERTY)
    child = component.get_first_component(ICalGLib.ComponentKind.ANY_COMPONENT)
    while child is not None:
        found.extend(lic_errors(child))
        child = component.get_next_component(ICalGLib.ComponentKind.ANY_COMPONENT)
    return found


def main() -> None:
    text = sys.stdin.buffer.read().decode("utf-8")
    component = ICalGLib.Component.new_from_string(text)
    if component is None:
        print(json.dumps({"errors": ["libical could not parse the file at all"]}))
        return
    valid = ICalGLib.restriction_check(component)
    errors = lic_errors(component)
    if not valid and not errors:
        errors.append("restriction_check failed without an X-LIC-ERROR")
    print(json.dumps({"errors": errors, "valid": bool(valid)}))


if __name__ == "__main__":
    main()

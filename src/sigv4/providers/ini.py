"""The INI dialect of the shared AWS ``config`` and ``credentials`` files.

The dialect follows what the AWS CLI and botocore accept (Python's ``configparser`` semantics) so that a
file working there works here: ``[section]`` headers; ``name = value`` or ``name: value`` settings (the
first ``=`` or ``:`` splits); setting names case-insensitive; whole-line comments starting with ``#`` or
``;`` (no inline comments: ``#`` inside a value is part of it); a line indented deeper than the setting
above it continues that setting's value (this is how nested settings such as ``s3 =`` followed by
indented ``max_concurrent_requests = 10`` lines are written). A duplicate section or a duplicate setting
within a section is an error, as in botocore.

Every problem is a :class:`ConfigFileError` with the path and line number. The offending text is never
quoted: a malformed line can be a secret key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigFileError


@dataclass(frozen=True)
class IniSection:
    """One ``[name]`` section: its settings (names lower-cased) and where each came from."""

    name: str
    line: int
    values: dict[str, str] = field(default_factory=dict, repr=False)
    lines: dict[str, int] = field(default_factory=dict, repr=False)


def parse_ini(text: str, path: str) -> dict[str, IniSection]:
    """Parse ``text`` (the contents of ``path``, used in error messages) into its sections, in order."""
    sections: dict[str, IniSection] = {}
    current: IniSection | None = None
    # The setting an indented line would continue, and that setting's own indentation.
    open_key: str | None = None
    open_indent = 0
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        indent = len(raw) - len(raw.lstrip())
        if current is not None and open_key is not None and indent > open_indent:
            current.values[open_key] += "\n" + stripped
            continue
        if stripped[0] == "[":
            current = _section_header(stripped, number, path, sections)
            sections[current.name] = current
            open_key = None
            continue
        if current is None:
            raise ConfigFileError(path, number, "a setting appears before any [section] header")
        open_key = _setting(stripped, number, path, current)
        open_indent = indent
    return sections


def _section_header(stripped: str, number: int, path: str, sections: dict[str, IniSection]) -> IniSection:
    close = stripped.rfind("]")
    if close == -1:
        raise ConfigFileError(path, number, "section header is missing its closing ']'")
    trailing = stripped[close + 1 :].strip()
    if trailing and trailing[0] not in "#;":
        raise ConfigFileError(path, number, "unexpected text after the section header's ']'")
    name = stripped[1:close].strip()
    if not name:
        raise ConfigFileError(path, number, "empty section name '[]'")
    previous = sections.get(name)
    if previous is not None:
        raise ConfigFileError(
            path, number, f"duplicate section [{name}] (first defined on line {previous.line})"
        )
    return IniSection(name=name, line=number)


def _setting(stripped: str, number: int, path: str, section: IniSection) -> str:
    positions = [p for p in (stripped.find("="), stripped.find(":")) if p != -1]
    if not positions:
        raise ConfigFileError(path, number, f"expected 'name = value' in section [{section.name}]")
    split = min(positions)
    key = stripped[:split].strip().lower()
    if not key:
        raise ConfigFileError(path, number, f"a setting in section [{section.name}] has no name before '='")
    first = section.lines.get(key)
    if first is not None:
        raise ConfigFileError(
            path, number, f"duplicate setting {key!r} in section [{section.name}] (first set on line {first})"
        )
    section.values[key] = stripped[split + 1 :].strip()
    section.lines[key] = number
    return key


def read_ini(path: str) -> dict[str, IniSection] | None:
    """Read and parse the file at ``path``; ``None`` when it does not exist.

    Unreadable files (a directory, no permission) and bytes that are not UTF-8 are ``ConfigFileError``s,
    the latter with the line of the first bad byte.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigFileError(path, None, f"cannot be read ({reason})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigFileError(path, line, "is not valid UTF-8") from None
    return parse_ini(text, path)

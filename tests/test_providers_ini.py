"""The shared-file INI dialect: what it accepts (as botocore does) and every error with path and line."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigv4.providers import ConfigFileError
from sigv4.providers.ini import parse_ini, read_ini

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


def test_sections_settings_comments_and_delimiters() -> None:
    text = (
        "# leading comment\n"
        "; another\n"
        "[default]\n"
        "aws_access_key_id = AKIDEXAMPLE\n"
        "AWS_Secret_Access_Key=" + SECRET + "\n"
        "   # indented comment\n"
        "\n"
        "region: eu-west-1\n"
        "[profile dev]\n"
        "note = a # is part of the value ; so is this\n"
        "url = http://host:80/x=y\n"
        "empty =\n"
    )
    sections = parse_ini(text, "cfg")
    assert list(sections) == ["default", "profile dev"]
    default = sections["default"]
    assert default.line == 3
    assert default.values == {
        "aws_access_key_id": "AKIDEXAMPLE",
        "aws_secret_access_key": SECRET,
        "region": "eu-west-1",
    }
    assert default.lines == {"aws_access_key_id": 4, "aws_secret_access_key": 5, "region": 8}
    dev = sections["profile dev"].values
    assert dev["note"] == "a # is part of the value ; so is this"
    assert dev["url"] == "http://host:80/x=y"
    assert dev["empty"] == ""


def test_crlf_cr_and_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(b"\xef\xbb\xbf[default]\r\naws_access_key_id = A\r\rregion = r\r\n")
    sections = read_ini(str(path))
    assert sections is not None
    assert sections["default"].values == {"aws_access_key_id": "A", "region": "r"}
    assert sections["default"].lines["region"] == 4


def test_indented_lines_continue_the_setting_above() -> None:
    text = (
        "[default]\ns3 =\n  max_concurrent_requests = 10\n\n  addressing_style = path\nregion = us-east-1\n"
    )
    values = parse_ini(text, "cfg")["default"].values
    assert values["s3"] == "\nmax_concurrent_requests = 10\naddressing_style = path"
    assert values["region"] == "us-east-1"


def test_section_header_may_carry_a_comment_and_spaces() -> None:
    sections = parse_ini("[ profile dev ]  # mine\nregion = x\n", "cfg")
    assert sections["profile dev"].values == {"region": "x"}


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (f"aws_secret_access_key = {SECRET}\n[default]\n", 1, "before any [section]"),
        (f"[default]\nregion = x\n[{SECRET}\n", 3, "closing ']'"),
        (f"[default] {SECRET}\n", 1, "unexpected text after"),
        ("\n\n[  ]\n", 3, "empty section name"),
        (f"[default]\n{SECRET}\n", 2, "expected 'name = value'"),
        (f"[default]\n = {SECRET}\n", 2, "no name before"),
        (
            "[default]\nregion = a\n[other]\n[default]\n",
            4,
            "duplicate section [default] (first defined on line 1)",
        ),
        (
            f"[default]\naws_secret_access_key = {SECRET}\nAWS_SECRET_ACCESS_KEY = {SECRET}x\n",
            3,
            "duplicate setting 'aws_secret_access_key' in section [default] (first set on line 2)",
        ),
    ],
)
def test_malformed_files_name_path_and_line_but_never_the_text(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigFileError) as caught:
        parse_ini(text, "/home/me/.aws/credentials")
    error = caught.value
    assert error.path == "/home/me/.aws/credentials"
    assert error.line == line
    assert reason in error.reason
    assert str(error).startswith(f"/home/me/.aws/credentials, line {line}: ")
    assert SECRET not in str(error)
    assert SECRET not in repr(error)


def test_missing_file_is_none_and_unreadable_file_is_an_error(tmp_path: Path) -> None:
    assert read_ini(str(tmp_path / "absent")) is None
    with pytest.raises(ConfigFileError) as caught:
        read_ini(str(tmp_path))  # a directory
    assert caught.value.path == str(tmp_path)
    assert caught.value.line is None
    assert "cannot be read" in str(caught.value)


def test_invalid_utf8_reports_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"[default]\nregion = x\nname = caf\xe9\n")
    with pytest.raises(ConfigFileError) as caught:
        read_ini(str(path))
    assert (caught.value.path, caught.value.line) == (str(path), 3)
    assert "UTF-8" in caught.value.reason


# Differential: on well-formed files (the dialect both accept), sections and settings equal botocore's.
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
_values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=30
).map(str.strip)
_sections = st.dictionaries(
    _names.filter(lambda n: n.lower() != "default"),
    st.dictionaries(_names, _values, max_size=5),
    max_size=5,
)


@given(_sections, st.sampled_from(["=", " = ", ": ", ":"]))
def test_agrees_with_botocore_on_well_formed_files(
    sections: dict[str, dict[str, str]], delimiter: str
) -> None:
    from botocore.configloader import raw_config_parse

    lowered = {
        name: {key.lower(): value for key, value in values.items()} for name, values in sections.items()
    }
    if any(len(values) != len(sections[name]) for name, values in lowered.items()):
        return  # keys differing only in case are duplicates for both parsers; covered above
    text = "# generated\n" + "".join(
        f"[{name}]\n" + "".join(f"{key}{delimiter}{value}\n" for key, value in values.items())
        for name, values in sections.items()
    )
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "config")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        expected = raw_config_parse(path, parse_subsections=False)
        ours = read_ini(path)
    assert ours is not None
    assert {name: section.values for name, section in ours.items()} == expected

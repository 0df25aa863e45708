"""Safe YAML reading (planner/yamlio.py) and the Problem type every error is made of."""

from __future__ import annotations

import os
import time

import pytest

from planner import yamlio
from planner.errors import InputError, Problem, yaml_path
from planner.yamlio import load_document, parse_yaml, read_text


def fail(text: str) -> Problem:
    with pytest.raises(InputError) as info:
        parse_yaml(text, "f.yaml")
    (problem,) = info.value.problems
    assert problem.file == "f.yaml"
    return problem


# --------------------------------------------------------------------------- line index

NESTED = """\
top: 1
section:
  key: value
  items:
    - name: a
      deep: [1, 2]
    - name: b

      more: {x: 1}
"""


def test_every_value_knows_its_line():
    doc = parse_yaml(NESTED, "f.yaml")
    assert doc.data["section"]["items"][1]["more"] == {"x": 1}
    assert doc.lines[("top",)] == 1
    assert doc.lines[("section",)] == 2
    assert doc.lines[("section", "key")] == 3
    assert doc.lines[("section", "items")] == 4
    assert doc.lines[("section", "items", 0)] == 5
    assert doc.lines[("section", "items", 0, "name")] == 5
    assert doc.lines[("section", "items", 0, "deep")] == 6
    assert doc.lines[("section", "items", 0, "deep", 1)] == 6
    assert doc.lines[("section", "items", 1)] == 7
    assert doc.lines[("section", "items", 1, "more")] == 9
    assert doc.lines[("section", "items", 1, "more", "x")] == 9


def test_line_of_falls_back_to_the_deepest_known_place():
    doc = parse_yaml(NESTED, "f.yaml")
    # pydantic reports places below a value (a missing key, a model-level error)
    assert doc.line_of(("section", "items", 1, "missing")) == 7
    assert doc.line_of(("section", "items", 1, "more", "x", "y")) == 9
    assert doc.line_of(("nope", "deeper")) == 1
    assert doc.line_of(()) == 1


def test_a_key_is_found_under_its_key_line_not_its_value_line():
    doc = parse_yaml("a:\n\n\n  - 1\n", "f.yaml")
    assert doc.lines[("a",)] == 1
    assert doc.lines[("a", 0)] == 4


def test_numeric_keys_are_addressed_as_integers():
    doc = parse_yaml("mig:\n  0: [a]\n  '3': [b]\n", "f.yaml")
    assert doc.lines[("mig", 0)] == 2
    assert doc.lines[("mig", 3)] == 3


def test_aliased_values_point_at_their_anchor():
    doc = parse_yaml("a: &x {k: 1}\nb: *x\n", "f.yaml")
    assert doc.data == {"a": {"k": 1}, "b": {"k": 1}}
    assert doc.lines[("b",)] == 2
    assert doc.lines[("b", "k")] == 1


# --------------------------------------------------------------------------- mistakes


def test_duplicate_keys_are_all_reported_with_both_lines():
    with pytest.raises(InputError) as info:
        parse_yaml("a: 1\nb:\n  x: 1\n  x: 2\na: 3\n", "f.yaml")
    problems = info.value.problems
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("b.x", 4, "duplicate key 'x' (first on line 3)"),
        ("a", 5, "duplicate key 'a' (first on line 1)"),
    ]


def test_duplicate_index_keys_in_both_spellings():
    p = fail("mig:\n  0: [a]\n  '0': [b]\n")
    assert (p.path, p.line) == ("mig[0]", 3)
    assert "first on line 2" in p.message


@pytest.mark.parametrize(
    "text,line",
    [
        ("a:\n\tb: 1\n", 2),
        ("a:\n  b: 1\n  \tc: 2\n", 3),
        ("a: 1\n\t\nb: 2\n", 2),
        ("a:\n  - 1\n\t- 2\n", 3),
    ],
)
def test_tab_indentation(text, line):
    p = fail(text)
    assert p.message == "indented with a tab character"
    assert p.line == line
    assert "spaces" in p.hint


def test_tabs_are_fine_where_yaml_allows_them():
    doc = parse_yaml('a: "x\ty"\nnote: |\n  \tindented text\n', "f.yaml")
    assert doc.data == {"a": "x\ty", "note": "\tindented text\n"}


def test_a_tab_between_tokens():
    p = fail("a: [1,\t2]\n")
    assert p.message == "a tab character outside a quoted string" and p.line == 1


@pytest.mark.parametrize(
    "text,line",
    [
        ("a: [1, 2\nb: 3\n", 2),
        ("a: 1\n b: 2\n", 2),
        ("a: 1\nb: 'open\n", 3),
        ("a: 1\n---\nb: 2\n", 2),
        ("? [a, b]\n: 1\n", 1),
    ],
)
def test_syntax_errors_name_the_line(text, line):
    p = fail(text)
    assert p.message.startswith("YAML syntax error: ")
    assert p.line == line
    assert p.hint


@pytest.mark.parametrize("text", ["", "   \n", "\n\n"])
def test_empty(text):
    assert fail(text).message == "the file is empty"


def test_only_comments():
    assert fail("# just a comment\n").message == "the file holds no YAML document"


def test_control_character_names_its_line():
    p = fail("a: 1\nb: x\x00y\n")
    assert p.message == "contains the control character U+0000, which YAML does not allow"
    assert p.line == 2


# --------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo pwned']\n",
        "a: !!python/name:os.system\n",
        "a: !!python/object:collections.OrderedDict {}\n",
    ],
)
def test_python_tags_are_refused(text):
    p = fail(text)
    assert p.message.startswith("unsupported YAML tag")
    assert p.line == 1


def test_billion_laughs_is_refused_quickly():
    lines = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.perf_counter()
    p = fail("\n".join(lines) + "\n")
    assert time.perf_counter() - start < 1.0
    assert p.message == f"expands to more than {yamlio.MAX_EXPANDED_NODES:,} values through aliases"
    assert p.line is not None and 1 <= p.line <= 10


def test_moderate_alias_use_is_fine():
    lines = ["a: &a [1, 2, 3]"] + [f"b{i}: *a" for i in range(100)]
    doc = parse_yaml("\n".join(lines) + "\n", "f.yaml")
    assert doc.data["b99"] == [1, 2, 3]


def test_nesting_limit():
    ok = "a: " + "[" * (yamlio.MAX_DEPTH - 1) + "]" * (yamlio.MAX_DEPTH - 1) + "\n"
    assert parse_yaml(ok, "f.yaml").data["a"] is not None
    too_deep = "a: " + "[" * (yamlio.MAX_DEPTH + 1) + "]" * (yamlio.MAX_DEPTH + 1) + "\n"
    p = fail(too_deep)
    assert p.message == f"nested more than {yamlio.MAX_DEPTH} levels deep" and p.line == 1


def test_nesting_beyond_the_parser_is_still_an_input_error():
    # deeper than PyYAML's recursive composer goes before our own depth check runs
    p = fail("a: " + "[" * 600 + "]" * 600 + "\n")
    assert "nested too deeply" in p.message


def test_recursive_alias_is_an_input_error():
    assert "nested too deeply" in fail("a: &x [*x]\n").message


# --------------------------------------------------------------------------- reading files


def test_read_text_missing_and_directory(tmp_path):
    with pytest.raises(InputError) as info:
        read_text(tmp_path / "nope.yaml")
    assert info.value.problems[0].message == "file not found"
    assert info.value.problems[0].file == str(tmp_path / "nope.yaml")
    with pytest.raises(InputError) as info:
        read_text(tmp_path)
    assert info.value.problems[0].message == "is a directory, not a file"


def test_read_text_non_utf8_names_byte_and_line(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_bytes(b"a: 1\nb: 2\nc: \xff\n")
    with pytest.raises(InputError) as info:
        read_text(path)
    (p,) = info.value.problems
    assert p.message == "is not valid UTF-8 (byte 0xff at offset 13)"
    assert p.line == 3


def test_read_text_strips_a_bom(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_text(path) == "a: 1\n"
    assert load_document(path).data == {"a": 1}


def test_read_text_refuses_huge_files(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlio, "MAX_FILE_BYTES", 100)
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n" * 100)
    with pytest.raises(InputError) as info:
        read_text(path)
    assert "the limit is" in info.value.problems[0].message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_read_text_permission_denied(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    try:
        with pytest.raises(InputError) as info:
            read_text(path)
        assert "permission denied" in info.value.problems[0].message
    finally:
        path.chmod(0o600)


def test_json_is_read_as_yaml(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{"a": [1, 2], "b": {"c": null}}')
    assert load_document(path).data == {"a": [1, 2], "b": {"c": None}}


# --------------------------------------------------------------------------- Problem and paths


def test_yaml_path_rendering():
    assert yaml_path(("workloads", 2, "target")) == "workloads[2].target"
    assert yaml_path(("node_types", "hgx", "nvlink", 1, 0)) == "node_types.hgx.nvlink[1][0]"
    assert yaml_path(()) == ""


def test_problem_format():
    assert Problem("bad", "a.b", 3, "fix it", "f.yaml").format() == "f.yaml:3: a.b: bad (fix it)"
    assert Problem("bad", "a.b", None, None, "f.yaml").format() == "f.yaml: a.b: bad"
    assert Problem("bad", "", 7, None, "f.yaml").format() == "f.yaml:7: bad"
    assert Problem("bad", "a").format() == "a: bad"
    assert Problem("bad").format() == "bad"
    assert Problem("m", "p", 1, "h", "f").to_dict() == {"file": "f", "path": "p", "line": 1, "message": "m", "hint": "h"}


def test_input_error_lists_every_problem():
    err = InputError([Problem("one", "a", 1, None, "f"), Problem("two", "b", 2, None, "f")])
    assert str(err) == "f:1: a: one\nf:2: b: two"

"""YAML text for the emitters: block style with indented lists (kubectl's look), short lists of
scalars in flow style where asked (`devices: [0, 1, 2]`), multi-line strings as literal blocks
(`config.yaml: |`), no anchors, and comments before a document."""

from __future__ import annotations

from collections.abc import Iterable

import yaml


class FlowList(list):
    """A list written on one line: `[0, 1, 2]`."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False):  # noqa: ARG002
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data) -> bool:  # noqa: ARG002
        return True


def _str(dumper: yaml.SafeDumper, value: str):
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _flow_list(dumper: yaml.SafeDumper, value: FlowList):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(FlowList, _flow_list)


def dump(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096, allow_unicode=True)


def comment_lines(lines: Iterable[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def multi_doc(documents: Iterable[tuple[list[str], object]], header: Iterable[str] = ()) -> str:
    """`---`-separated documents, each preceded by its comment lines; `header` comments open the text."""
    out = comment_lines(header)
    for comments, data in documents:
        out += "---\n" + comment_lines(comments) + dump(data)
    return out

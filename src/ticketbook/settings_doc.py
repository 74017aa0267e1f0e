"""The settings reference in docs/configuration.md, generated from the fields in
``ticketbook.settings`` (variable, default, meaning), so the docs can't drift from the code.

Each table lives between ``<!-- settings-table: GROUP -->`` and ``<!-- /settings-table -->``;
``python -m ticketbook.settings_doc docs/configuration.md`` (``make config-docs``) rewrites
them and ``--check`` only reports whether they are stale (a unit test does the same).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from ticketbook.settings import RateRule, Settings, bounds, env_name, field_extra

BLOCK = re.compile(
    r"(?P<begin><!-- settings-table: (?P<group>\w+) -->\n)"
    r"(?P<table>.*?)"
    r"(?P<end><!-- /settings-table -->)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Row:
    group: str
    variable: str
    default: str
    meaning: str


def rows(model: type[BaseSettings] = Settings, group: str | None = None) -> Iterator[Row]:
    """Every setting of ``model``, nested groups included, in declaration order."""
    for name, field in model.model_fields.items():
        field_group = field_extra(field, "group") or group
        if field_group is None:
            raise ValueError(f"{model.__name__}.{name} belongs to no reference table")
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseSettings):
            yield from rows(nested, field_group)
        else:
            yield Row(field_group, env_name(model, name), shown_default(field), meaning(field))


def format_value(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, str | int | RateRule | Path):
        return f"`{value}`"
    raise TypeError(f"no documented form for a default of type {type(value).__name__}")


def shown_default(field: FieldInfo) -> str:
    template = field_extra(field, "shown") or "{default}"
    if "{default}" not in template:
        return template
    if field.default_factory is not None:
        raise ValueError("a computed default needs its own `shown` text")
    return template.replace("{default}", format_value(field.default))


def meaning(field: FieldInfo) -> str:
    text = field.description or ""
    limits = bounds(field)
    if limits:
        text = f"{text.rstrip('.')}. Must be {limits}."
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def tables() -> dict[str, str]:
    """Markdown table per group."""
    out: dict[str, list[str]] = {}
    for row in rows():
        lines = out.setdefault(row.group, ["| variable | default | meaning |", "|---|---|---|"])
        lines.append(f"| `{row.variable}` | {_cell(row.default)} | {_cell(row.meaning)} |")
    return {group: "\n".join(lines) + "\n" for group, lines in out.items()}


def render(text: str) -> str:
    """``text`` with every settings table block regenerated; ValueError if a block is unknown
    or a group's table has no block."""
    generated = tables()
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        group = match["group"]
        if group not in generated:
            raise ValueError(f"no settings belong to the table {group!r}")
        seen.add(group)
        return match["begin"] + generated[group] + match["end"]

    result = BLOCK.sub(replace, text)
    missing = sorted(set(generated) - seen)
    if missing:
        raise ValueError(f"no <!-- settings-table: NAME --> block for {', '.join(missing)}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ticketbook.settings_doc")
    parser.add_argument("path", type=Path, help="the Markdown file, e.g. docs/configuration.md")
    parser.add_argument("--check", action="store_true", help="only report whether it is stale")
    args = parser.parse_args(argv)
    text = args.path.read_text()
    fresh = render(text)
    if fresh == text:
        return 0
    if args.check:
        print(f"{args.path}: the settings tables are stale (run make config-docs)", file=sys.stderr)
        return 1
    args.path.write_text(fresh)
    print(f"{args.path}: settings tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Read the pages the way a browser without JavaScript would: find forms, fill them, post them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    button_disabled: bool = False
    data: dict[str, str] = field(default_factory=dict)

    def filled(self, **values: str) -> dict[str, str]:
        return {**self.fields, **values}


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(
                action=a.get("action", ""),
                method=a.get("method", "get").lower(),
                data={k[5:]: v for k, v in a.items() if k.startswith("data-")},
            )
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and "name" in a:
            self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name", "")
            self._form.options[self._select] = []
            if "disabled" in a:
                self._form.disabled.add(self._select)
        elif tag == "option" and self._select is not None:
            self._form.options[self._select].append(a.get("value", ""))
            if "selected" in a or self._select not in self._form.fields:
                self._form.fields[self._select] = a.get("value", "")
        elif tag == "button" and "disabled" in a:
            self._form.button_disabled = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def booking_form(html: str, tier_id: str) -> Form:
    for form in forms(html):
        if form.fields.get("tier_id") == tier_id and "quantity" in form.options:
            return form
    raise AssertionError(f"no booking form for tier {tier_id}")


def title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "page has no <title>"
    return match.group(1).strip()


def text(html: str) -> str:
    """The visible text, whitespace collapsed (good enough for assertions)."""
    without_tags = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", without_tags).replace("&#39;", "'").replace("&amp;", "&").strip()


def post_form(
    client: httpx.Client, form: Form, *, accept_json: bool = False, **values: str
) -> httpx.Response:
    headers = {"Accept": "application/json"} if accept_json else {}
    return client.post(form.action, data=form.filled(**values), headers=headers)


def reference(html: str) -> str:
    match = re.search(r"TB-[0-9A-F]{8}", html)
    assert match, "no booking reference on the page"
    return match.group(0)

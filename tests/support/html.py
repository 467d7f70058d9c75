"""Reading the HTML fragments pages and sockets send, by element id."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, Element] = {}
        self.all: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        if self._open:
            self._open[-1].children.append(element)
        self.all.append(element)
        if element.attrs.get("id"):
            self.by_id[element.attrs["id"]] = element
        if tag not in {"input", "br", "img", "meta", "link"}:
            self._open.append(element)

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element.text += data


def elements_by_id(html: str) -> dict[str, Element]:
    collector = _Collector()
    collector.feed(html)
    return collector.by_id


def elements_with(html: str, attribute: str) -> list[Element]:
    collector = _Collector()
    collector.feed(html)
    return [e for e in collector.all if attribute in e.attrs]


# The alert a page shows a refusal in: the function page's hold refusal, a wizard step's.
REFUSAL_IDS = ("hold-refusal", "step-error")


def refusal_code(response) -> str | None:
    """The `code` of the DomainError a page shows (its data-code), or None if none."""
    found = elements_by_id(response.content.decode())
    for element_id in REFUSAL_IDS:
        if element_id in found:
            return found[element_id].attrs.get("data-code")
    return None

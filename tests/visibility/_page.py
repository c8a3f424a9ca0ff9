"""Reading the report page back: its tables' cells, and every address it names."""

from __future__ import annotations

import re
from html.parser import HTMLParser

NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?//[^\s\"'<>)]+", re.I)


class Tables(HTMLParser):
    """Rows of each ``<table id=...>``: ``{column: data-v}`` per ``<tr>``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.attributes: list[tuple[str, str, str]] = []
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.attributes += [(tag, k, v) for k, v in found.items()]
        if tag == "table":
            self._table = found.get("id")
            self.tables[self._table or ""] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append({})
        elif tag == "td" and self._table is not None and "data-c" in found:
            self.tables[self._table][-1][found["data-c"]] = found["data-v"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


def read_tables(page: str) -> Tables:
    """The parsed page."""
    parser = Tables()
    parser.feed(page)
    return parser


def outside_addresses(page: str) -> set[str]:
    """Every address in the page that is not an XML namespace, and every attribute that
    could make a browser fetch something (src, href other than #, CSS url(), @import)."""
    found = {a for a in _ADDRESS.findall(page) if a not in NAMESPACES}
    found |= {
        f"{t} {k}={v}"
        for t, k, v in read_tables(page).attributes
        if k == "src" or (k in ("href", "xlink:href") and not v.startswith("#"))
    }
    found |= set(re.findall(r"url\((?!#)[^)]*\)|@import", page))
    return found

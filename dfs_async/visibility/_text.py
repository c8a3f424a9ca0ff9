"""Answer text made ready for matching: links, bare URLs and citation labels blanked out.

A cited link is a citation, not a mention: ``([pcmag.com](https://www.pcmag.com/...))``,
``[3]`` or ``https://acme.com/pricing`` must not count as naming PCMag or Acme. Removed text is
replaced by spaces of the same length, so a match's offsets are offsets into the answer as
written (the drill-down highlights them there).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# One pass over the text: a markdown link (its label is kept unless it is itself a citation
# label), a bracketed citation label ([3], [pcmag.com], [1, 2]), or a bare URL. Every branch
# begins with a literal character, so the regex engine skips the other positions at C speed.
_REMOVE: Final = re.compile(
    r"\[(?P<label>[^\[\]\n]{0,300})\]\((?P<target>[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)\)"
    r"|\[(?P<cite>\d+(?:\s*[,–-]\s*\d+)*|[\w-]+(?:\.[\w-]+)+)\]"
    r"|(?P<url>(?:[hH][tT][tT][pP][sS]?://|[wW][wW][wW]\.)[^\s<>()\[\]]+)"
)
_WORD_CHAR: Final = re.compile(r"\w")
_PLAIN_HEAD: Final = re.compile(r"[^:\[\]w]*")
"""A word's start holding no ":", "[", "]" or "w" is no URL, link target or label."""
_CITATION_LABEL: Final = re.compile(
    r"\s*(?:\d+(?:\s*[,–-]\s*\d+)*|(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?)\s*", re.IGNORECASE
)


def blank_links(text: str, removed: list[tuple[int, int]] | None = None) -> str:
    """``text`` with link targets, bare URLs and citation labels replaced by spaces.

    A link's label stays when it is prose (``[Acme](https://acme.com)`` names Acme); a label
    that is a domain or a number is a citation marker and goes too. When ``removed`` is given,
    the blanked spans are appended to it.
    """
    if "[" not in text and "http" not in text and "www." not in text:
        return text  # most prose: nothing to scan for

    def blank(match: re.Match[str]) -> str:
        start = match.start()
        if match.group("url") is not None and start and _WORD_CHAR.match(text, start - 1):
            return match.group()  # "awww.x" or "xhttp://": not where a URL begins
        label = match.group("label")
        if label is not None and not _CITATION_LABEL.fullmatch(label):
            # Keep the label in place, blank the brackets and the target.
            start, end = match.span()
            if removed is not None:
                removed.append((start, start + 1))
                removed.append((match.end("label"), end))
            return " " + label + " " * (end - match.end("label"))
        if removed is not None:
            removed.append(match.span())
        return " " * (match.end() - match.start())

    return _REMOVE.sub(blank, text)


def fold(text: str) -> str:
    """Unicode-normalised (NFKC) and case-folded ``text``: what case-insensitive matching sees."""
    if text.isascii():
        return text.lower()  # ASCII casefold is lower(), and NFKC leaves ASCII alone
    return unicodedata.normalize("NFKC", text).casefold()


def nfkc(text: str) -> str:
    """Unicode-normalised (NFKC) ``text``, case kept: what case-sensitive matching sees."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def in_link(text: str, start: int) -> bool:
    """True when offset ``start`` of ``text`` lies in a link target, a bare URL or a citation
    label: what `blank_links` would blank, judged from the word around ``start`` alone."""
    space = text.rfind(" ", 0, start)
    # Most often "**" or "(": none of the characters the tests below need. The word begins
    # after the last space, newline or tab; if the text after the last space holds none of
    # them, nor does the word, so the newline and tab are looked for only when it does.
    if _PLAIN_HEAD.fullmatch(text, space + 1, start):
        return False
    # A newline or tab matters only after the last space: searching past it would scan back
    # to the start of the answer for a tab that is usually not there.
    space = max(space, text.rfind("\n", space + 1, start), text.rfind("\t", space + 1, start))
    head = text[space + 1 : start]
    if _PLAIN_HEAD.fullmatch(head):
        return False
    if "://" in head or "](" in head or head.lstrip("([<*_\"'").startswith("www."):
        return True
    bracket = head.rfind("[")
    if bracket < 0 or "]" in head[bracket:]:
        return False
    close = text.find("]", start)
    label = text[space + 1 + bracket + 1 : close] if close >= 0 else ""
    return bool(label) and _CITATION_LABEL.fullmatch(label) is not None

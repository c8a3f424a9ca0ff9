"""Registrable domains (``www.nytimes.com`` -> ``nytimes.com``, ``bbc.co.uk``), offline.

Uses a vendored copy of the Public Suffix List (``public_suffix_list.dat`` beside this module,
from https://publicsuffix.org/list/, Mozilla Public License 2.0, as Debian's ``publicsuffix``
package ships it, version 2023-02-09), so scoring needs no network. The algorithm is the
list's own: the longest matching rule wins, ``*`` matches one label, ``!`` marks an exception;
a host no rule matches has the implicit rule ``*``.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Final

_HOST: Final = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)", re.I)


@functools.cache
def _rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(plain rules, wildcard parents, exceptions) of the vendored list."""
    plain: set[str] = set()
    wildcard: set[str] = set()
    exceptions: set[str] = set()
    text = resources.files(__package__).joinpath("public_suffix_list.dat").read_text("utf-8")
    for line in text.splitlines():
        rule = line.split(maxsplit=1)[0] if line.strip() else ""
        if not rule or rule.startswith("//"):
            continue
        rule = rule.encode("idna").decode("ascii") if not rule.isascii() else rule
        if rule.startswith("!"):
            exceptions.add(rule[1:])
        elif rule.startswith("*."):
            wildcard.add(rule[2:])
        else:
            plain.add(rule)
    return frozenset(plain), frozenset(wildcard), frozenset(exceptions)


def host_of(url: str) -> str | None:
    """The lower-cased host of ``url`` without ``www.``; None if it has none."""
    match = _HOST.match(url)
    host = match.group(1).lower().rstrip(".") if match else ""
    return host.removeprefix("www.") or None


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str:
    """The registrable domain of ``host`` (a public suffix plus one label); an IP address, a
    bare suffix or a single label is returned as it is."""
    host = host.lower().rstrip(".")
    if not host or host.startswith("[") or host.replace(".", "").isdigit():
        return host
    labels = host.split(".")
    if not host.isascii():
        try:
            labels = [label.encode("idna").decode("ascii") for label in labels]
        except UnicodeError:
            return host
    plain, wildcard, exceptions = _rules()
    suffix_len = 1  # the implicit "*" rule
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in exceptions:
            suffix_len = len(labels) - i - 1
            break
        if candidate in plain:
            suffix_len = len(labels) - i
            break
        if i + 1 < len(labels) and ".".join(labels[i + 1 :]) in wildcard:
            suffix_len = len(labels) - i
            break
    if suffix_len >= len(host.split(".")):
        return host
    return ".".join(host.split(".")[-suffix_len - 1 :])


def owns(domain: str, host: str) -> bool:
    """True when ``host`` is ``domain`` or one of its subdomains."""
    return host == domain or host.endswith("." + domain)

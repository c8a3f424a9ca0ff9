"""Scoring: each answer of each snapshot into per-cell counters, and nothing more.

A cell is snapshot × engine × model × group (a metadata value with ``--by``). Memory is the
counters: per cell, one counter per brand, product and cited domain, and per prompt the counts
that prompt-balanced rates, the bootstrap and the diff need; never the answers themselves
(except a bounded sample of the last snapshot kept for the page's drill-down).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from ._config import BrandConfig
from ._domains import host_of, owns, registrable_domain
from ._match import Matcher, Mention
from ._records import Answer, message_text_and_citations, read_answers
from ._text import blank_links, nfkc

DRILLDOWN_PROMPTS: Final = 40
"""Prompts of the last snapshot whose answers the page shows in full."""
DRILLDOWN_SAMPLES: Final = 3
"""Answers per prompt and engine the drill-down shows."""
_CANDIDATE: Final = re.compile(
    r"(?<![\w.])[A-Z][\w&'+-]*(?:[.][A-Za-z]{2,})?(?:[ ][A-Z][\w&'+-]*){0,2}(?![\w])"
)
_SENTENCE_START: Final = re.compile(r"(?:^|[.!?:;\n]|\*\*|\n\s*(?:\d+[.)]|[-*]))$")
_CANDIDATE_CAP: Final = 100_000
"""Distinct candidate names kept; past it, names seen once are dropped (memory stays flat)."""


@dataclass(frozen=True, slots=True, order=True)
class CellKey:
    """Where an answer is counted."""

    snapshot: int
    engine: str
    model: str
    group: str = ""


@dataclass(slots=True)
class Cell:
    """The counters of one cell."""

    entities: int
    brands: int
    answers: int = 0
    failed: int = 0
    """Calls that got no answer: counted apart, never as "not mentioned"."""
    pending: int = 0
    """Standard tasks posted and not collected yet."""
    cost: float = 0.0
    """USD charged, answered and failed calls alike."""
    cost_unknown: float = 0.0
    """USD estimated for calls whose charge is unknown."""
    mentioned: list[int] = field(default_factory=list)
    top1: list[int] = field(default_factory=list)
    rank_sum: list[int] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    named_cited: list[int] = field(default_factory=list)
    domains: dict[str, list[int]] = field(default_factory=dict)
    """Registrable domain -> [answers citing it, distinct URLs of it cited]."""
    citations: int = 0
    models: Counter[str] = field(default_factory=Counter)
    """Model versions that answered (``result.model_name``)."""
    prompts: dict[str, list[int]] = field(default_factory=dict)
    """Prompt -> [answers, then answers naming each entity]."""

    def __post_init__(self) -> None:
        self.mentioned = [0] * self.entities
        self.top1 = [0] * self.entities
        self.rank_sum = [0] * self.entities
        self.cited = [0] * self.brands
        self.named_cited = [0] * self.brands


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One answered (or failed) call, as the per-answer table lists it."""

    snapshot: str
    engine: str
    model: str
    answer_model: str
    group: str
    prompt: str
    id: str
    sample: int
    status: str
    brands: tuple[str, ...]
    products: tuple[str, ...]
    domains: tuple[str, ...]
    cited_brands: tuple[str, ...]
    cost: float
    key: str


@dataclass(frozen=True, slots=True)
class DrillAnswer:
    """An answer the page shows in full: its text, mentions and citations."""

    engine: str
    model: str
    prompt: str
    sample: int
    text: str
    mentions: tuple[Mention, ...]
    removed: tuple[tuple[int, int], ...]
    """Spans of link targets and citation labels blanked before matching."""
    citations: tuple[tuple[str, str, str], ...]
    """(domain, title, url without its scheme)."""


def snapshot_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """A short, unique label per results file: its name, numbered where two share one."""
    names = [Path(p).name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [f"{i + 1}:{name}" for i, name in enumerate(names)]


class Scorer:
    """Counts the answers of snapshots into `Cell` counters (see the module docstring)."""

    def __init__(
        self,
        configs: Sequence[BrandConfig],
        snapshots: Sequence[str],
        *,
        by: str | None = None,
        candidates: bool = False,
        on_answer: Callable[[AnswerRow], None] | None = None,
    ) -> None:
        if len(configs) != len(snapshots):
            raise ValueError("one brand config per snapshot")
        self.configs = tuple(configs)
        self.snapshots = tuple(snapshots)
        self.matchers = tuple(_shared_matchers(configs))
        self.by = by
        self.cells: dict[CellKey, Cell] = {}
        self.candidates: Counter[str] | None = Counter() if candidates else None
        self.drilldown: list[DrillAnswer] = []
        self._drill_prompts: dict[str, Counter[str]] = {}
        self._on_answer = on_answer
        self._cell_of: dict[tuple[int, str, str, str], tuple[CellKey, Cell]] = {}
        self._owners: list[dict[str, tuple[int, ...]]] = [{} for _ in configs]
        # Per snapshot, host -> (registrable domain, owning brands): hosts repeat a lot.
        self._hosts: list[dict[str, tuple[str, tuple[int, ...]]]] = [{} for _ in configs]
        # Per snapshot, what `_site` says for a URL's scheme and authority (``https://host``):
        # URLs differ in their paths far more than in their hosts.
        self._origins: list[dict[str, tuple[str, tuple[int, ...]]]] = [{} for _ in configs]
        self._names = [
            [b.name for b in c.brands] + [p.name for b in c.brands for p in b.products]
            for c in configs
        ]

    def entity_names(self, snapshot: int) -> list[str]:
        """Brand names then product names of a snapshot's config (the entity order)."""
        return list(self._names[snapshot])

    def score_file(self, snapshot: int, path: str | os.PathLike[str]) -> None:
        """Count every record of ``path`` as snapshot number ``snapshot``."""
        for answer in read_answers(path):
            self.add(snapshot, answer)

    def add(self, snapshot: int, answer: Answer) -> None:
        """Count one record."""
        group = ""
        if self.by is not None:
            value = (answer.metadata or {}).get(self.by)
            group = "" if value is None else str(value)
        # A tuple finds the cell without building a CellKey per answer.
        where = (snapshot, answer.platform or "", answer.model_name or "", group)
        found = self._cell_of.get(where)
        if found is None:
            key = CellKey(*where)
            cell = self.cells.get(key)
            if cell is None:
                matcher = self.matchers[snapshot]
                cell = Cell(len(matcher.brands) + len(matcher.products), len(matcher.brands))
                self.cells[key] = cell
            found = self._cell_of[where] = (key, cell)
        key, cell = found
        if answer.posted:
            cell.pending += 1
            return
        cell.cost += answer.cost
        cell.cost_unknown += answer.cost_estimate or 0.0
        result = answer.result if answer.ok else None
        if result is None:
            cell.failed += 1
            self._emit(key, answer, "failed", "", (), (), (), ())
            return
        text, cited = message_text_and_citations(result)
        self._count(key, cell, answer, result.model_name or "", text, cited)

    def _count(
        self,
        key: CellKey,
        cell: Cell,
        answer: Answer,
        version: str,
        text: str,
        cited: dict[str, str | None],
    ) -> None:
        matcher = self.matchers[key.snapshot]
        cell.answers += 1
        models = cell.models
        models[version] = models.get(version, 0) + 1
        brands, products = matcher.first_mentions(text)
        prompt_key = answer.prompt if answer.id is None else _prompt_key(answer)
        per_prompt = cell.prompts.get(prompt_key)
        if per_prompt is None:
            per_prompt = cell.prompts[prompt_key] = [0] * (1 + cell.entities)
        per_prompt[0] += 1
        mentioned, rank_sum = cell.mentioned, cell.rank_sum
        for rank, brand in enumerate(brands, start=1):
            mentioned[brand] += 1
            rank_sum[brand] += rank
            per_prompt[1 + brand] += 1
        if brands:
            cell.top1[next(iter(brands))] += 1
        for product, start in products.items():
            self._count_product(matcher, cell, per_prompt, brands, product, start)
        domains, owners = self._domains(key.snapshot, cited)
        cell_domains = cell.domains
        for domain, count in domains.items():
            counts = cell_domains.get(domain)
            if counts is None:
                cell_domains[domain] = [1, count]
            else:
                counts[0] += 1
                counts[1] += count
        cell.citations += sum(domains.values())
        for brand in owners:
            cell.cited[brand] += 1
            if brand in brands:
                cell.named_cited[brand] += 1
        if self.candidates is not None:
            self._candidates(matcher, text, answer.prompt)
        if key.snapshot == len(self.snapshots) - 1 and (
            answer.prompt in self._drill_prompts or len(self._drill_prompts) < DRILLDOWN_PROMPTS
        ):
            self._keep_for_drilldown(key, answer, text, cited)
        if self._on_answer is None:
            return
        names = self._names[key.snapshot]
        self._emit(
            key,
            answer,
            "ok",
            version,
            tuple(names[b] for b in brands),
            tuple(names[cell.brands + p] for p in products),
            tuple(domains),
            tuple(sorted(names[b] for b in owners)),
        )

    @staticmethod
    def _count_product(
        matcher: Matcher,
        cell: Cell,
        per_prompt: list[int],
        brands: dict[int, int],
        product: int,
        start: int,
    ) -> None:
        """Count a product named first at ``start``; its rank counts the other brands before."""
        parent = matcher.products[product][0]
        rank = 1 + sum(1 for b, s in brands.items() if s < start and b != parent)
        entity = cell.brands + product
        cell.mentioned[entity] += 1
        cell.rank_sum[entity] += rank
        cell.top1[entity] += rank == 1
        per_prompt[1 + entity] += 1

    def _domains(
        self, snapshot: int, cited: dict[str, str | None]
    ) -> tuple[dict[str, int], set[int]]:
        """Distinct URLs cited per registrable domain, and the brands owning one of them."""
        domains: dict[str, int] = {}
        owners: set[int] = set()
        origins = self._origins[snapshot]
        for url in cited:
            # What `host_of` reads of a URL ends at the first "/" after its "://" (a host holds
            # no "/", but for a bracketed one, which `_cacheable` leaves out).
            end = url.find("/", url.find("://") + 3)
            origin = url[:end] if end >= 0 else ""
            found = origins.get(origin)
            if found is None:
                found = self._site(snapshot, url) or _NO_SITE
                if _cacheable(origin):
                    origins[origin] = found
            domain, owned = found
            if domain:  # never empty for a URL that has a host
                domains[domain] = domains.get(domain, 0) + 1
                if owned:
                    owners.update(owned)
        return domains, owners

    def _site(self, snapshot: int, url: str) -> tuple[str, tuple[int, ...]] | None:
        """(registrable domain, owning brands) of the host of ``url``; None if it has none."""
        host = host_of(url)
        if host is None:
            return None
        hosts = self._hosts[snapshot]
        found = hosts.get(host)
        if found is None:
            found = hosts[host] = (registrable_domain(host), self._owners_of(snapshot, host))
        return found

    def _owners_of(self, snapshot: int, host: str) -> tuple[int, ...]:
        cache = self._owners[snapshot]
        found = cache.get(host)
        if found is None:
            config = self.configs[snapshot]
            found = cache[host] = tuple(
                i for i, b in enumerate(config.brands) if any(owns(d, host) for d in b.domains)
            )
        return found

    def domain_owner(self, snapshot: int, domain: str) -> str:
        """``primary``, ``competitor`` (another tracked brand's domain) or empty."""
        owners = self._owners_of(snapshot, domain)
        config = self.configs[snapshot]
        if not owners:
            return ""
        if config.primary is not None and any(
            config.brands[i].key == config.primary for i in owners
        ):
            return "primary"
        return "competitor"

    def _emit(
        self,
        key: CellKey,
        answer: Answer,
        status: str,
        version: str,
        brands: tuple[str, ...],
        products: tuple[str, ...],
        domains: tuple[str, ...],
        cited_brands: tuple[str, ...],
    ) -> None:
        if self._on_answer is None:
            return
        self._on_answer(
            AnswerRow(
                snapshot=self.snapshots[key.snapshot],
                engine=key.engine,
                model=key.model,
                answer_model=version,
                group=key.group,
                prompt=answer.prompt,
                id="" if answer.id is None else str(answer.id),
                sample=answer.sample,
                status=status,
                brands=brands,
                products=products,
                domains=domains,
                cited_brands=cited_brands,
                cost=answer.cost,
                key=answer.key,
            )
        )

    def _keep_for_drilldown(
        self, key: CellKey, answer: Answer, text: str, urls: dict[str, str | None]
    ) -> None:
        shown = self._drill_prompts.get(answer.prompt)
        if shown is None:
            if len(self._drill_prompts) >= DRILLDOWN_PROMPTS:
                return
            shown = self._drill_prompts[answer.prompt] = Counter()
        if shown[key.engine] >= DRILLDOWN_SAMPLES:
            return
        shown[key.engine] += 1
        removed: list[tuple[int, int]] = []
        blank_links(text, removed)
        notes = []
        for url, title in urls.items():
            host = host_of(url) or ""
            bare = url.split("://", 1)[-1]
            notes.append((registrable_domain(host) if host else "", title or "", bare))
        self.drilldown.append(
            DrillAnswer(
                engine=key.engine,
                model=key.model,
                prompt=answer.prompt,
                sample=answer.sample,
                text=text,
                mentions=tuple(self.matchers[key.snapshot].find(text)),
                removed=tuple(removed),
                citations=tuple(notes),
            )
        )

    def _candidates(self, matcher: Matcher, text: str, prompt: str) -> None:
        """Count capitalised names not tracked, once per answer (the prompt's words aside)."""
        assert self.candidates is not None
        prompt = prompt.casefold()
        clean = nfkc(blank_links(text))
        found = set()
        for match in _CANDIDATE.finditer(clean):
            name = match.group()
            one_word = " " not in name
            start = match.start()
            # Spaces are skipped: a blanked citation may stand between a sentence and the next.
            before = clean[max(0, start - 300) : start].rstrip(" \t()")
            if one_word and _SENTENCE_START.search(before):
                continue  # "Reviewers ..." starts a sentence: no sign of a name
            folded = name.casefold()
            if folded in _COMMON or folded in prompt or matcher.find(name):
                continue
            found.add(name)
        self.candidates.update(found)
        if len(self.candidates) > _CANDIDATE_CAP:
            for name in [n for n, c in self.candidates.items() if c == 1]:
                del self.candidates[name]


_COMMON_TEXT: Final = """
    i a an the in on at for of and or but if it this that these those my our your their we you
    they he she however overall also because while when where which what who why how most many
    some best top key pros cons price pricing note summary tips features ai ceo faq usd january
    february march april may june july august september october november december monday
    tuesday wednesday thursday friday saturday sunday
"""
_COMMON: Final = frozenset(_COMMON_TEXT.split())
"""Capitalised words that start no name (the sentence-start check misses some)."""


_NO_SITE: Final[tuple[str, tuple[int, ...]]] = ("", ())
"""What the origin cache keeps for a URL without a host."""


def _cacheable(origin: str) -> bool:
    """Whether URLs sharing this part up to their first "/" after "://" share their host: not
    for a bracketed host (it may hold a "/"); nor kept when a query or fragment comes first
    (one entry per query would grow with the file)."""
    return bool(origin) and "[" not in origin and "?" not in origin and "#" not in origin


def _prompt_key(answer: Answer) -> str:
    """A prompt's identity across snapshots: its text, and the row's own id when given."""
    return answer.prompt if answer.id is None else f"{answer.id}\0{answer.prompt}"


def _shared_matchers(configs: Sequence[BrandConfig]) -> list[Matcher]:
    """One `Matcher` per snapshot, compiled once per distinct config."""
    built: dict[int, Matcher] = {}
    return [built.setdefault(id(c), Matcher(c)) for c in configs]

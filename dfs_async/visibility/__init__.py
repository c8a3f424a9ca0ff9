"""AI visibility: which brands an engine names, how early, next to whom, and what it cites.

Scores results files (one snapshot each) against a brand config, with no network call and one
record in memory at a time. ``dfs-async report`` is the command; the page's charts need the
optional extra ``dfs_async[report]`` (matplotlib), nothing else does.
"""

import contextlib

from ._config import Brand, BrandConfig, BrandConfigError, Product, load_brands, parse_brands
from ._domains import registrable_domain
from ._match import Matcher, Mention
from ._report import score_files, write_report
from ._stats import benjamini_hochberg, wilson_interval
from ._tables import Report
from ._text import blank_links

__all__ = [
    "Brand",
    "BrandConfig",
    "BrandConfigError",
    "Matcher",
    "Mention",
    "Product",
    "Report",
    "benjamini_hochberg",
    "blank_links",
    "load_brands",
    "parse_brands",
    "registrable_domain",
    "score_files",
    "wilson_interval",
    "write_report",
]

# Shown as dfs_async.visibility.X in help() and reprs, wherever they are defined.
for _name in __all__:
    with contextlib.suppress(AttributeError, TypeError):
        globals()[_name].__module__ = __name__

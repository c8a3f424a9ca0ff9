"""The brand config: a good one reads, a bad one fails with one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfs_async.visibility import BrandConfigError, load_brands

GOOD = """
[settings]
primary = "acme"
[brands.acme]
name = "Acme"
names = ["Acme", "Acme Corp"]
products = { "Acme Flow" = ["Acme Flow", "AcmeFlow"] }
case_sensitive = ["ACME"]
exclude = ["acme of perfection"]
domains = ["acme.com"]
[brands.globex]
names = ["Globex"]
domains = ["https://www.Globex.com/"]
"""


def test_the_issue_example_reads(tmp_path: Path) -> None:
    path = tmp_path / "brands.toml"
    path.write_text(GOOD, encoding="utf-8")
    config = load_brands(path)
    assert config.primary == "acme"
    acme, globex = config.brands
    assert (acme.name, acme.names, acme.case_sensitive) == (
        "Acme",
        ("Acme", "Acme Corp"),
        ("ACME",),
    )
    assert acme.products[0].name == "Acme Flow" and acme.products[0].aliases[1] == "AcmeFlow"
    assert globex.name == "globex" and globex.domains == ("globex.com",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[brands.a]\nnames = 'A'", "brands.a.names: must be a list of strings"),
        ("[brands.a]\nnames = ['A']\ncolour = 1", "brands.a.colour: unknown key"),
        ("[settings]\nprimary = 'zz'\n[brands.a]\nnames = ['A']", "settings.primary: 'zz' is"),
        ("[brands.a]\nnames = ['A']\ndomains = ['not a domain']", "brands.a.domains: 'not a"),
        ("[brands.a]\nnames = ['A']\n[brands.b]\nnames = ['a']", "brands.b.names: 'a' is also"),
        ("[brands.a]\nnames = ['A']\nproducts = { P = [] }", "brands.a.products.P: needs"),
        ("[brands.a]\nnames = ['']", "brands.a.names: holds an empty string"),
        ("[settings]\nprimary = 'a'", "brands: missing"),
        ("[brands]\n", "brands: no brand defined"),
        ("brands = 3", "brands: must be a table"),
        ("[brand.a]\nnames = ['A']", "brand: unknown table"),
        ("[brands.a\nnames", "not valid TOML"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "brands.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BrandConfigError) as info:
        load_brands(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(path))


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BrandConfigError, match=r"cannot read"):
        load_brands(tmp_path / "nope.toml")

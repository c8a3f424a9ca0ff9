"""Brands the synthesised answers name: a catalog of real brands per product category.

An answer to "Which CRM do small agencies use?" names CRMs, as a numbered list or in prose,
sometimes as markdown links, sometimes citing a brand's own site. Each platform prefers
different brands (a fixed, hash-derived factor per platform and brand), and samples of one
prompt vary (the draw is seeded by the request key), so a visibility report run against the
emulator shows real differences between engines and real run-to-run uncertainty; the same key
always gets the same brands.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from dataclasses import dataclass
from typing import Final

from .._platforms import PLATFORMS, Platform
from ._sites import Site

# category | words of a prompt that select it | brands as Name=domain, most popular first
_TABLE: Final = """
CRM | crm | HubSpot=hubspot.com, Salesforce=salesforce.com, Pipedrive=pipedrive.com, \
Zoho CRM=zoho.com, monday.com=monday.com, Freshsales=freshworks.com, Copper=copper.com, \
Insightly=insightly.com
project management | project management, task management | Asana=asana.com, Trello=trello.com, \
monday.com=monday.com, ClickUp=clickup.com, Jira=atlassian.com, Notion=notion.so, \
Basecamp=basecamp.com, Wrike=wrike.com
email marketing | email marketing, newsletter | Mailchimp=mailchimp.com, Klaviyo=klaviyo.com, \
Brevo=brevo.com, Omnisend=omnisend.com, ConvertKit=convertkit.com, \
ActiveCampaign=activecampaign.com, MailerLite=mailerlite.com
accounting | accounting, bookkeeping | QuickBooks=quickbooks.intuit.com, Xero=xero.com, \
FreshBooks=freshbooks.com, Wave=waveapps.com, Zoho Books=zoho.com, Sage=sage.com
password manager | password | 1Password=1password.com, Bitwarden=bitwarden.com, \
Dashlane=dashlane.com, LastPass=lastpass.com, Keeper=keepersecurity.com, \
NordPass=nordpass.com
website builder | website builder, site builder | Wix=wix.com, Squarespace=squarespace.com, \
Shopify=shopify.com, WordPress.com=wordpress.com, Webflow=webflow.com, GoDaddy=godaddy.com
help desk | help desk, helpdesk, customer support | Zendesk=zendesk.com, \
Freshdesk=freshworks.com, Help Scout=helpscout.com, Intercom=intercom.com, \
Zoho Desk=zoho.com, Front=front.com
note-taking | note-taking, note taking, notes app | Notion=notion.so, Obsidian=obsidian.md, \
Evernote=evernote.com, OneNote=onenote.com, Bear=bear.app, Roam Research=roamresearch.com
video conferencing | video conferencing, webinar | Zoom=zoom.us, Microsoft Teams=microsoft.com, \
Google Meet=google.com, Webex=webex.com, GoTo Meeting=goto.com, Livestorm=livestorm.co
payroll | payroll | Gusto=gusto.com, ADP=adp.com, Paychex=paychex.com, Rippling=rippling.com, \
OnPay=onpay.com, Deel=deel.com
SEO | seo, keyword | Semrush=semrush.com, Ahrefs=ahrefs.com, Moz=moz.com, \
SE Ranking=seranking.com, Mangools=mangools.com, Ubersuggest=neilpatel.com
team chat | team chat, slack | Slack=slack.com, Microsoft Teams=microsoft.com, \
Discord=discord.com, Google Chat=google.com, Mattermost=mattermost.com, \
Rocket.Chat=rocket.chat, Flock=flock.com
cloud storage | cloud storage, file storage | Dropbox=dropbox.com, Google Drive=google.com, \
OneDrive=microsoft.com, Box=box.com, pCloud=pcloud.com, Sync.com=sync.com, Tresorit=tresorit.com
online courses | online course, course platform | Teachable=teachable.com, \
Thinkific=thinkific.com, Kajabi=kajabi.com, Podia=podia.com, LearnWorlds=learnworlds.com, \
Udemy=udemy.com
time tracking | time tracking, timesheet | Toggl Track=toggl.com, Harvest=getharvest.com, \
Clockify=clockify.me, RescueTime=rescuetime.com, Timely=timelyapp.com, Everhour=everhour.com
e-signature | e-signature, esignature, electronic signature | DocuSign=docusign.com, \
Dropbox Sign=dropbox.com, Adobe Acrobat Sign=adobe.com, PandaDoc=pandadoc.com, \
SignNow=signnow.com, Zoho Sign=zoho.com
standing desk | standing desk, desk | Uplift Desk=upliftdesk.com, Flexispot=flexispot.com, \
Fully Jarvis=fully.com, Autonomous=autonomous.ai, Vari=vari.com, IKEA=ikea.com
running shoes | running shoe, running shoes, sneaker | Brooks=brooksrunning.com, \
Hoka=hoka.com, Asics=asics.com, Nike=nike.com, New Balance=newbalance.com, \
Saucony=saucony.com, Adidas=adidas.com, On=on.com
meal kit | meal kit | HelloFresh=hellofresh.com, Home Chef=homechef.com, \
Blue Apron=blueapron.com, EveryPlate=everyplate.com, Factor=factor75.com, \
Green Chef=greenchef.com
VPN | vpn | NordVPN=nordvpn.com, ExpressVPN=expressvpn.com, Surfshark=surfshark.com, \
Proton VPN=protonvpn.com, Private Internet Access=privateinternetaccess.com, \
CyberGhost=cyberghostvpn.com, Mullvad=mullvad.net
budgeting | budgeting, budget app | YNAB=ynab.com, Monarch Money=monarchmoney.com, \
Goodbudget=goodbudget.com, Copilot=copilot.money, Honeydue=honeydue.com, \
EveryDollar=everydollar.com
web hosting | web hosting, hosting | Bluehost=bluehost.com, SiteGround=siteground.com, \
Hostinger=hostinger.com, DreamHost=dreamhost.com, A2 Hosting=a2hosting.com, \
InMotion Hosting=inmotionhosting.com, Kinsta=kinsta.com
AI writing | ai writing, writing assistant, copywriting | Jasper=jasper.ai, \
Copy.ai=copy.ai, Grammarly=grammarly.com, Writesonic=writesonic.com, ChatGPT=openai.com, \
Claude=anthropic.com
analytics | analytics | Plausible=plausible.io, Fathom Analytics=usefathom.com, \
Matomo=matomo.org, Simple Analytics=simpleanalytics.com, Umami=umami.is, \
PostHog=posthog.com
* | - | Amazon=amazon.com, Google=google.com, Microsoft=microsoft.com, Apple=apple.com, \
Samsung=samsung.com, IBM=ibm.com
"""


@dataclass(frozen=True, slots=True)
class Category:
    """A product category: the prompt words that select it and its brands."""

    name: str
    words: tuple[str, ...]
    brands: tuple[tuple[str, str], ...]
    """(name, domain), most popular first."""


def _parse(table: str) -> tuple[Category, ...]:
    categories = []
    for line in table.replace("\\\n", "").strip().splitlines():
        name, words, brands = (part.strip() for part in line.split(" | "))
        pairs = tuple(
            (brand.split("=")[0].strip(), brand.split("=")[1].strip())
            for brand in brands.split(",")
        )
        categories.append(
            Category(
                name,
                tuple(w.strip() for w in words.split(",") if w.strip() not in ("", "-")),
                pairs,
            )
        )
    return tuple(categories)


CATEGORIES: Final = _parse(_TABLE)
_FALLBACK: Final = CATEGORIES[-1]
_LISTED_INTROS: Final = (
    "The options named most often are:",
    "Here are the tools people recommend most:",
    "Commonly recommended choices include:",
)
_BLURBS: Final = (
    "a strong free tier and a gentle learning curve",
    "the widest set of integrations",
    "good value for small teams",
    "excellent reviews for customer support",
    "powerful features that reward a little setup",
    "a clean interface that most users like",
    "reliable performance at a mid-range price",
)
_PROSE: Final = (
    "Popular choices include {list}; {first} is the one reviewers mention most often.",
    "Many users end up comparing {list}, and {first} often comes out ahead on ease of use.",
    "{First} is a frequent recommendation, alongside {rest}.",
)
_CITE_RATE: Final = {"chat_gpt": 0.35, "claude": 0.15, "gemini": 0.3, "perplexity": 0.5}
"""How often an answer cites the site of the first brand it names."""
_LINK_RATE: Final = 0.25
"""How often a listed brand is written as a markdown link to its site."""


@functools.lru_cache(maxsize=4096)
def category_of(prompt: str) -> Category:
    """The category a prompt asks about; the generic fallback when none fits."""
    text = prompt.lower()
    for category in CATEGORIES[:-1]:
        if any(re.search(rf"\b{re.escape(word)}", text) for word in category.words):
            return category
    return _FALLBACK


def _factor(platform: str, brand: str) -> float:
    """A fixed preference of ``platform`` for ``brand``, between 0.2 and 2.2."""
    digest = hashlib.sha256(f"{platform}:{brand}".encode()).digest()
    return 0.2 + 2.0 * digest[0] / 255


@functools.lru_cache(maxsize=1024)
def _cum_weights(category: Category, platform: Platform) -> list[float]:
    total = 0.0
    weights = []
    for rank, (name, _) in enumerate(category.brands):
        total += _factor(platform, name) / (1 + 0.35 * rank)
        weights.append(total)
    return weights


def pick_brands(category: Category, platform: Platform, key: str) -> list[tuple[str, str]]:
    """3 to 6 distinct brands of ``category`` for the call of ``key``, in the order named."""
    rng = random.Random(key)
    count = min(len(category.brands), rng.randint(3, 6))
    weights = _cum_weights(category, platform)
    picked: list[tuple[str, str]] = []
    for _ in range(8 * count):
        brand = rng.choices(category.brands, cum_weights=weights)[0]
        if brand not in picked:
            picked.append(brand)
            if len(picked) == count:
                break
    return picked


def brand_paragraph(platform: Platform, key: str, prompt: str) -> tuple[str, Site | None]:
    """The paragraph naming brands for the call of ``key``, and the brand site it cites (if
    any, a `Site` the caller turns into an annotation after the paragraph)."""
    category = category_of(prompt)
    brands = pick_brands(category, platform, key)
    rng = random.Random(key + ":style")
    names = [
        f"[{name}](https://{_host(domain)}/)" if rng.random() < _LINK_RATE else name
        for name, domain in brands
    ]
    if rng.random() < 0.5:
        lines = [rng.choice(_LISTED_INTROS)]
        lines += [
            f"{i}. **{name}**: {rng.choice(_BLURBS)}." for i, name in enumerate(names, start=1)
        ]
        text = "\n".join(lines)
    else:
        first = brands[0][0]
        text = rng.choice(_PROSE).format(
            list=", ".join(names[:-1]) + " and " + names[-1],
            first=first,
            First=first,
            rest=", ".join(names[1:-1]) + " and " + names[-1] if len(names) > 2 else names[-1],
        )
    site = None
    if rng.random() < _CITE_RATE[platform]:
        name, domain = brands[0]
        weights = tuple(0.0 for _ in PLATFORMS)
        site = Site(_host(domain), "/{slug}", f"{{Topic}} | {name}", weights, False)
    return text, site


def _host(domain: str) -> str:
    """The host a brand's site answers on: ``www.`` before a bare registrable domain."""
    return domain if domain.count(".") > 1 else "www." + domain

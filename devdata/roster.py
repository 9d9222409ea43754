"""What the expense generator draws from: merchants, and each business's submitters."""

from collections.abc import Sequence
from dataclasses import dataclass
from math import log
from random import Random

from db.roles import Role
from devdata import catalogues
from devdata.org import MemberSeed, OrgBuilder, slug

# How much each role spends, relative to an employee.
ROLE_ACTIVITY: dict[str, float] = {
    Role.EMPLOYEE: 1.0,
    Role.MANAGER: 0.7,
    Role.FINANCE: 0.3,
    Role.ADMIN: 0.2,
}


@dataclass(frozen=True)
class Merchant:
    """A merchant, the currency it bills in when it is local, and its amount profile."""

    name: str
    category: str
    local: str | None
    mu: float
    sigma: float
    descriptions: tuple[str, ...]
    file_slug: str


def _descriptions(category: str) -> tuple[str, ...]:
    fill = Random(category)  # rendered once at import, identical on every run
    texts = []
    for template in catalogues.DESCRIPTIONS[category]:
        for _ in range(4):
            city, client = fill.choice(catalogues.CITIES), fill.choice(catalogues.CLIENTS)
            event, month = fill.choice(catalogues.EVENTS), fill.choice(catalogues.MONTHS)
            texts.append(template.format(city=city, client=client, event=event, month=month))
    return tuple(texts)


def _merchants() -> tuple[tuple[Merchant, ...], list[float]]:
    merchants, weights = [], []
    for spec in catalogues.CATEGORIES:
        texts = _descriptions(spec.name)
        entries = catalogues.MERCHANTS[spec.name]
        for entry in entries:
            name, _, local = entry.rstrip("*").partition("|")
            mu, sigma = log(spec.median_usd), spec.sigma
            merchants.append(Merchant(name, spec.name, local or None, mu, sigma, texts, slug(name)))
            weights.append(spec.frequency / len(entries) * (6 if entry.endswith("*") else 1))
    cumulative, total = [], 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    return tuple(merchants), cumulative


MERCHANTS, MERCHANT_CUM_WEIGHTS = _merchants()


@dataclass(frozen=True)
class Submitter:
    """A member who files expenses, with who may decide on them and who pays them out."""

    member_id: int
    team_id: int | None
    cards: tuple[int, ...]
    approvers: tuple[int, ...]
    payers: tuple[int, ...]


@dataclass(frozen=True)
class Roster:
    """One business as the expense generator sees it."""

    business_id: int
    home_currency: str
    submitters: tuple[Submitter, ...]
    cum_weights: tuple[float, ...]
    categories: dict[str, int]


def make_roster(
    builder: OrgBuilder, members: Sequence[MemberSeed], category_names: Sequence[str]
) -> Roster:
    """Return the roster of ``members``, once ``builder`` has made each team's MANAGER its
    manager and added the categories, their policies and the members' cards."""
    managers = builder.link_managers(members)
    categories = builder.categories(category_names)
    builder.policies(categories)
    cards = builder.cards(members)
    rng = builder.rng
    finance = [m.id for m in members if m.role == Role.FINANCE]
    admins = [m.id for m in members if m.role == Role.ADMIN]
    submitters, cum, total = [], [], 0.0
    for m in members:
        manager = managers.get(m.team_id) if m.team_id is not None else None
        payers = tuple(f for f in finance if f != m.id) or tuple(a for a in admins if a != m.id)
        approvers = payers
        if manager is not None and manager != m.id:
            # the team's manager takes about two decisions in three, finance the rest
            approvers = (manager,) * (2 * len(payers)) + payers
        if not payers:
            continue  # nobody else could decide on or pay out this member's expenses
        submitters.append(Submitter(m.id, m.team_id, cards.get(m.id, ()), approvers, payers))
        total += ROLE_ACTIVITY[m.role] * rng.lognormvariate(0.0, 0.8)
        cum.append(total)
    return Roster(builder.business_id, builder.home, tuple(submitters), tuple(cum), categories)

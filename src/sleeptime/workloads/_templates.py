"""The built-in templates: everyday word problems, each with at least five questions.

Written for this project. Values are sampled so that every answer is exact and non-negative.
``Q(text, answer, n_steps, predictability)``; ``answer`` takes the sampled values ``v``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from fractions import Fraction as F
from typing import Any

Number = int | Fraction


class V(dict[str, Any]):
    """Sampled values, readable as attributes in templates (``v.price``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


@dataclass(frozen=True)
class QuestionTemplate:
    """A question about a template's context: its text, exact answer, steps and predictability."""

    text: str
    answer: Callable[[V], Number]
    n_steps: int
    predictability: str


@dataclass(frozen=True)
class ContextTemplate:
    """A context with sampled values and the questions that may be asked about it."""

    name: str
    domain: str
    sample: Callable[[random.Random], dict[str, Any]]
    text: str
    questions: Sequence[QuestionTemplate]


T = ContextTemplate
Q = QuestionTemplate

NAMES = (
    "Amara", "Ben", "Carmen", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Lucas", "Maya", "Nikhil", "Olivia", "Pablo", "Quinn", "Rosa", "Sami", "Tanya", "Umar",
    "Vera", "Wen", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip


def _name(r: random.Random, k: int = 1) -> list[str]:
    return r.sample(NAMES, k)


def _s(**kw: Any) -> dict[str, Any]:
    return kw


# --------------------------------------------------------------------------- shopping
def _grocery(r: random.Random) -> dict[str, Any]:
    a, pa, b, pb = r.randint(3, 12), r.randint(1, 4), r.randint(1, 5), r.randint(2, 6)
    total = a * pa + b * pb
    return _s(name=_name(r)[0], a=a, pa=pa, b=b, pb=pb, bill=(total // 20 + 1) * 20)


def _clothes(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], shirts=r.randint(2, 5), shirt=r.randrange(10, 41, 5),
        jeans=r.randint(1, 3), jean=r.randrange(30, 71, 5), off=r.choice([10, 20, 25, 50]),
        tax=r.choice([5, 8, 10]),
    )  # fmt: skip


def _bulk(r: random.Random) -> dict[str, Any]:
    per = r.choice([6, 8, 12, 24])
    return _s(
        name=_name(r)[0], per=per, packs=r.randint(3, 9), price=r.randint(4, 15),
        single=r.randint(1, 3), need=per * r.randint(2, 6),
    )  # fmt: skip


def _bookstore(r: random.Random) -> dict[str, Any]:
    hard, paper, nh, np_, fee = (
        r.randrange(18, 31, 2),
        r.randrange(6, 15),
        r.randint(2, 6),
        r.randint(3, 10),
        r.randint(2, 5),
    )
    return _s(
        name=_name(r)[0], hard=hard, paper=paper, nh=nh, np_=np_, fee=fee,
        card=((nh * hard + np_ * paper + fee) // 25 + r.randint(1, 4)) * 25,
    )  # fmt: skip


def _phone_plan(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], base=r.randrange(20, 61, 5), gb=r.randint(5, 20),
        extra=r.randint(2, 6), used=r.randint(21, 35), months=r.choice([6, 12, 24]),
        phone=r.randrange(300, 901, 50),
    )  # fmt: skip


# --------------------------------------------------------------------------- cooking
def _recipe(r: random.Random) -> dict[str, Any]:
    serves = r.choice([4, 6, 8])
    return _s(
        name=_name(r)[0], serves=serves, flour=serves * r.choice([50, 75, 100]),
        eggs=serves // 2, sugar=serves * r.choice([20, 25, 30]), guests=serves * r.randint(2, 5),
        bag=r.choice([1000, 1500, 2000]),
    )  # fmt: skip


def _bakery(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], trays=r.randint(3, 8), per_tray=r.choice([12, 16, 20, 24]),
        price=r.randint(2, 4), left=r.randint(5, 12), cost=r.randrange(10, 31, 5),
        hours=r.choice([2, 4, 5]),
    )  # fmt: skip


def _pizza(r: random.Random) -> dict[str, Any]:
    people = r.randint(6, 15)
    return _s(
        name=_name(r)[0], pizzas=r.randint(3, 7), slices=r.choice([8, 10, 12]),
        people=people, each=r.randint(2, 3), price=r.randrange(10, 21, 2),
        tip=r.choice([10, 15, 20]),
    )  # fmt: skip


def _coffee(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], cups=r.randint(2, 4), grams=r.choice([10, 12, 15, 18]),
        bag=r.choice([250, 500, 1000]), bag_price=r.randrange(8, 25), cafe=r.randint(3, 6),
        days=r.choice([7, 14, 30]),
    )  # fmt: skip


def _meal_prep(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], boxes=r.randint(5, 14), rice=r.choice([75, 100, 150]),
        chicken=r.choice([120, 150, 200]), kg_price=r.randint(6, 14), rice_kg=r.randint(2, 4),
        minutes=r.randint(3, 8),
    )  # fmt: skip


# --------------------------------------------------------------------------- travel
def _road_trip(r: random.Random) -> dict[str, Any]:
    speed = r.choice([40, 50, 60, 80])
    return _s(
        name=_name(r)[0], dist=speed * r.randint(3, 9), speed=speed,
        mpg=r.choice([20, 25, 40, 50]), gas=r.randint(3, 5), stops=r.randint(1, 4),
        stop_min=r.choice([15, 20, 30]),
    )  # fmt: skip


def _train(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], adults=r.randint(1, 4), kids=r.randint(1, 4),
        fare=r.randrange(20, 81, 4), kid_off=r.choice([25, 50]), legs=r.randint(2, 4),
        wait=r.choice([10, 15, 20, 25]), ride=r.randrange(30, 121, 10),
    )  # fmt: skip


def _hotel(r: random.Random) -> dict[str, Any]:
    nights, rate, fee = r.randint(2, 9), r.randrange(60, 201, 10), r.randrange(5, 31, 5)
    rooms, free_every = r.randint(1, 3), r.choice([4, 5])
    cost = rooms * ((nights - nights // free_every) * rate + nights * fee)
    return _s(
        name=_name(r)[0], nights=nights, rate=rate, fee=fee, rooms=rooms, free_every=free_every,
        budget=(cost // 250 + r.randint(1, 4)) * 250,
    )  # fmt: skip


def _flight(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], ticket=r.randrange(150, 601, 50), bags=r.randint(1, 3),
        bag_fee=r.choice([25, 30, 35, 40]), people=r.randint(2, 5), miles=r.randrange(800, 3001, 100),
        per_mile=r.choice([5, 10]),
    )  # fmt: skip


def _cycling(r: random.Random) -> dict[str, Any]:
    speed = r.choice([12, 15, 18, 20])
    return _s(
        name=_name(r)[0], speed=speed, hours=r.randint(2, 5), days=r.randint(3, 6),
        goal=speed * r.randint(15, 40), cal=r.choice([30, 40, 50]), rest=r.randint(1, 3),
    )  # fmt: skip


# --------------------------------------------------------------------------- finance
def _savings(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], start=r.randrange(100, 1001, 50), weekly=r.randrange(10, 61, 5),
        weeks=r.randint(4, 20), goal=r.randrange(1500, 3001, 100), spend=r.randrange(20, 101, 10),
        rate=r.choice([2, 4, 5, 10]),
    )  # fmt: skip


def _salary(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], wage=r.randint(15, 40), hours=r.choice([20, 30, 35, 40]),
        ot=r.randint(2, 10), tax=r.choice([10, 15, 20, 25]), rent=r.randrange(400, 1201, 100),
        raise_=r.choice([5, 10, 20]),
    )  # fmt: skip


def _loan(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], amount=r.randrange(1000, 10001, 500), rate=r.choice([4, 5, 6, 8, 10]),
        years=r.randint(1, 5), paid=r.randrange(100, 501, 50), months=r.randint(2, 10),
    )  # fmt: skip


def _lemonade(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], cups=r.randint(40, 80), price=r.choice([1, 2, 3]),
        lemons=r.randint(10, 30), lemon=r.choice([F(1, 2), F(1, 4), 1]), sugar=r.randint(3, 8),
        days=r.randint(2, 7),
    )  # fmt: skip


def _stocks(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], shares=r.randint(10, 60), buy=r.randrange(20, 101, 4),
        up=r.choice([10, 20, 25, 50]), div=r.choice([1, 2, 3]), fee=r.choice([5, 10]),
        sold=r.randint(2, 9),
    )  # fmt: skip


# --------------------------------------------------------------------------- school
def _classroom(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], boys=r.randint(8, 18), girls=r.randint(8, 18), pencils=r.randint(2, 5),
        box=r.choice([10, 12]), absent=r.randint(1, 5),
    )  # fmt: skip


def _grades(r: random.Random) -> dict[str, Any]:
    scores = [r.randrange(60, 101, 2) for _ in range(4)]
    return _s(
        name=_name(r)[0], s1=scores[0], s2=scores[1], s3=scores[2], s4=scores[3],
        w=r.choice([20, 25, 40]), target=r.choice([80, 85, 90]),
    )  # fmt: skip


def _field_trip(r: random.Random) -> dict[str, Any]:
    seats = r.choice([30, 40, 50])
    return _s(
        name=_name(r)[0], students=r.randint(60, 180), seats=seats, bus=r.randrange(200, 501, 50),
        ticket=r.randint(5, 15), chaperone=r.choice([8, 10, 12]), lunch=r.randint(4, 9),
    )  # fmt: skip


def _reading(r: random.Random) -> dict[str, Any]:
    per_day = r.choice([10, 15, 20, 25, 30])
    return _s(
        name=_name(r)[0], pages=per_day * r.randint(8, 20), per_day=per_day,
        read=r.randint(2, 6), books=r.randint(2, 5), words=r.choice([250, 300, 400]),
        speed=r.choice([200, 250]),
    )  # fmt: skip


def _exam_prep(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], subjects=r.randint(3, 6), hours=r.randint(2, 6), days=r.randint(5, 14),
        break_min=r.choice([10, 15]), sessions=r.randint(2, 4), cards=r.randrange(20, 101, 10),
    )  # fmt: skip


# --------------------------------------------------------------------------- garden and farm
def _garden(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], rows=r.randint(3, 10), plants=r.randint(4, 12),
        yield_=r.randint(2, 8), price=r.choice([1, 2, 3]), water=r.choice([2, 3, 5]),
        lost=r.choice([10, 20, 25, 50]),
    )  # fmt: skip


def _chickens(r: random.Random) -> dict[str, Any]:
    hens, eggs, eaten, dozen = r.randint(12, 30), r.randint(4, 6), r.randint(4, 12), r.randint(3, 6)
    revenue = (hens * eggs - eaten) // 12 * dozen
    return _s(
        name=_name(r)[0], hens=hens, eggs=eggs, dozen=dozen, eaten=eaten,
        feed=r.randint(2, revenue // 2),
    )  # fmt: skip


def _orchard(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], trees=r.randint(10, 40), apples=r.randrange(50, 201, 10),
        crate=r.choice([25, 50]), crate_price=r.randint(10, 30), bad=r.choice([10, 20]),
        pickers=r.choice([2, 4, 5]),
    )  # fmt: skip


def _fence(r: random.Random) -> dict[str, Any]:
    length = r.randrange(20, 81, 2)
    return _s(
        name=_name(r)[0], length=length, width=r.randrange(10, min(length, 41), 2),
        post=r.choice([2, 4]), post_price=r.randint(5, 15), wire=r.randint(2, 5),
        gate=r.choice([4, 6]),
    )  # fmt: skip


def _beehive(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], hives=r.randint(2, 9), honey=r.randint(10, 30), jar=r.choice([F(1, 2), 1]),
        jar_price=r.randint(6, 12), wax=r.randint(1, 3), keep=r.randint(5, 15),
    )  # fmt: skip


# --------------------------------------------------------------------------- home and health
def _painting(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], walls=r.randint(3, 8), w=r.randint(3, 6), h=r.choice([2, 3]),
        cover=r.choice([5, 10]), coats=r.choice([1, 2, 3]), can=r.randint(15, 40),
    )  # fmt: skip


def _running(r: random.Random) -> dict[str, Any]:
    pace = r.choice([5, 6, 7, 8])
    return _s(
        name=_name(r)[0], km=r.randint(3, 12), pace=pace, runs=r.randint(2, 6),
        race=r.choice([21, 42]), cal=r.choice([60, 70, 80]), shoes=r.choice([600, 800]),
    )  # fmt: skip


def _medicine(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], mg=r.choice([250, 500]), tabs=r.choice([1, 2]), times=r.choice([2, 3, 4]),
        days=r.randint(5, 14), bottle=r.choice([30, 60, 100]), price=r.randrange(8, 31, 2),
    )  # fmt: skip


def _electricity(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], watts=r.choice([100, 200, 500, 1000, 1500]), hours=r.randint(2, 10),
        cents=r.choice([10, 12, 15, 20, 25]), days=r.choice([7, 30]), panels=r.randint(4, 12),
        panel_kwh=r.randint(1, 3),
    )  # fmt: skip


def _moving(r: random.Random) -> dict[str, Any]:
    return _s(
        name=_name(r)[0], boxes=r.randint(20, 60), per_trip=r.choice([5, 8, 10]),
        trip_min=r.choice([15, 30, 45, 60]), truck=r.randrange(40, 101, 10), movers=r.randint(2, 4),
        wage=r.randrange(20, 41, 5),
    )  # fmt: skip


TEMPLATES: tuple[T, ...] = (
    T(
        "grocery",
        "shopping",
        _grocery,
        "{name} buys {a} apples at ${pa} each and {b} loaves of bread at ${pb} each, and pays "
        "with a ${bill} bill.",
        [
            Q("How much does {name} spend in total?", lambda v: v.a * v.pa + v.b * v.pb, 3, "high"),
            Q(
                "How much change does {name} get back?",
                lambda v: v.bill - v.a * v.pa - v.b * v.pb,
                4,
                "high",
            ),
            Q("How much does {name} spend on apples?", lambda v: v.a * v.pa, 1, "medium"),
            Q("How many items does {name} buy?", lambda v: v.a + v.b, 1, "medium"),
            Q(
                "With the change, how many more apples could {name} buy at the same price?",
                lambda v: (v.bill - v.a * v.pa - v.b * v.pb) // v.pa,
                5,
                "low",
            ),
            Q(
                "If bread cost $1 more per loaf, how much would {name} spend in total?",
                lambda v: v.a * v.pa + v.b * (v.pb + 1),
                3,
                "low",
            ),
        ],
    ),
    T(
        "clothes_sale",
        "shopping",
        _clothes,
        "{name} picks {shirts} shirts at ${shirt} each and {jeans} pairs of jeans at ${jean} "
        "each. The store takes {off}% off the jeans, and sales tax of {tax}% is added to the "
        "discounted total.",
        [
            Q(
                "How much does {name} pay in total, tax included?",
                lambda v: (
                    (v.shirts * v.shirt + v.jeans * v.jean * F(100 - v.off, 100))
                    * F(100 + v.tax, 100)
                ),
                5,
                "high",
            ),
            Q(
                "How much does {name} pay before tax?",
                lambda v: v.shirts * v.shirt + v.jeans * v.jean * F(100 - v.off, 100),
                4,
                "high",
            ),
            Q(
                "How much money does the discount save {name}?",
                lambda v: v.jeans * v.jean * F(v.off, 100),
                2,
                "medium",
            ),
            Q("How much do the shirts cost?", lambda v: v.shirts * v.shirt, 1, "medium"),
            Q(
                "How much would the jeans have cost without the discount?",
                lambda v: v.jeans * v.jean,
                1,
                "low",
            ),
            Q(
                "How much tax does {name} pay?",
                lambda v: (
                    (v.shirts * v.shirt + v.jeans * v.jean * F(100 - v.off, 100)) * F(v.tax, 100)
                ),
                4,
                "low",
            ),
        ],
    ),
    T(
        "bulk_buy",
        "shopping",
        _bulk,
        "{name} needs {need} batteries. A pack of {per} batteries costs ${price}, and single "
        "batteries cost ${single} each. {name} already bought {packs} packs for a club.",
        [
            Q(
                "How many packs does {name} need to buy to get {need} batteries?",
                lambda v: v.need // v.per,
                1,
                "high",
            ),
            Q(
                "How much do {need} batteries cost in packs?",
                lambda v: v.need // v.per * v.price,
                2,
                "high",
            ),
            Q(
                "How much would {need} single batteries cost?",
                lambda v: v.need * v.single,
                1,
                "medium",
            ),
            Q(
                "How many batteries are in the packs bought for the club?",
                lambda v: v.packs * v.per,
                1,
                "medium",
            ),
            Q(
                "How much is saved by buying {need} batteries in packs instead of singly?",
                lambda v: abs(v.need * v.single - v.need // v.per * v.price),
                4,
                "low",
            ),
            Q("How much did the club's packs cost?", lambda v: v.packs * v.price, 1, "low"),
        ],
    ),
    T(
        "bookstore",
        "shopping",
        _bookstore,
        "{name} has a gift card worth ${card}. Hardcover books cost ${hard} and paperbacks cost "
        "${paper}. {name} buys {nh} hardcovers and {np_} paperbacks, and shipping is ${fee} per order.",
        [
            Q(
                "How much does the order cost, shipping included?",
                lambda v: v.nh * v.hard + v.np_ * v.paper + v.fee,
                3,
                "high",
            ),
            Q(
                "How much is left on the gift card after the order?",
                lambda v: v.card - v.nh * v.hard - v.np_ * v.paper - v.fee,
                4,
                "high",
            ),
            Q("How many books does {name} buy?", lambda v: v.nh + v.np_, 1, "medium"),
            Q(
                "How much more does a hardcover cost than a paperback?",
                lambda v: v.hard - v.paper,
                1,
                "medium",
            ),
            Q(
                "How many hardcovers could the full gift card buy, ignoring shipping?",
                lambda v: v.card // v.hard,
                1,
                "low",
            ),
            Q(
                "What would the order cost if {name} bought only paperbacks, same number of books, shipping included?",
                lambda v: (v.nh + v.np_) * v.paper + v.fee,
                3,
                "low",
            ),
        ],
    ),
    T(
        "phone_plan",
        "shopping",
        _phone_plan,
        "{name}'s phone plan costs ${base} a month for {gb} GB of data, and each extra GB costs "
        "${extra}. Last month {name} used {used} GB. The phone itself cost ${phone}.",
        [
            Q(
                "How much was {name}'s bill last month?",
                lambda v: v.base + (v.used - v.gb) * v.extra,
                3,
                "high",
            ),
            Q("How many GB over the allowance did {name} go?", lambda v: v.used - v.gb, 1, "high"),
            Q(
                "How much do {months} months of the base plan cost?",
                lambda v: v.months * v.base,
                1,
                "medium",
            ),
            Q(
                "How much did the extra data cost last month?",
                lambda v: (v.used - v.gb) * v.extra,
                2,
                "medium",
            ),
            Q(
                "What do the phone and {months} months of the base plan cost together?",
                lambda v: v.phone + v.months * v.base,
                2,
                "low",
            ),
            Q(
                "If the allowance were doubled, how much would last month's bill have been?",
                lambda v: v.base + max(0, v.used - 2 * v.gb) * v.extra,
                3,
                "low",
            ),
        ],
    ),
    T(
        "recipe_scaling",
        "cooking",
        _recipe,
        "{name}'s cake recipe serves {serves} people and uses {flour} grams of flour, {eggs} eggs "
        "and {sugar} grams of sugar. {name} is baking for {guests} guests, and flour comes in "
        "{bag}-gram bags.",
        [
            Q(
                "How many grams of flour does {name} need for {guests} guests?",
                lambda v: v.flour * v.guests // v.serves,
                2,
                "high",
            ),
            Q(
                "How many eggs does {name} need for {guests} guests?",
                lambda v: v.eggs * v.guests // v.serves,
                2,
                "high",
            ),
            Q(
                "How many grams of sugar does {name} need for {guests} guests?",
                lambda v: v.sugar * v.guests // v.serves,
                2,
                "medium",
            ),
            Q("How many cakes does {name} bake?", lambda v: v.guests // v.serves, 1, "medium"),
            Q(
                "How many bags of flour must {name} buy?",
                lambda v: -(-(v.flour * v.guests // v.serves) // v.bag),
                3,
                "low",
            ),
            Q(
                "How many grams of flour does one serving use?",
                lambda v: F(v.flour, v.serves),
                1,
                "low",
            ),
        ],
    ),
    T(
        "bakery",
        "cooking",
        _bakery,
        "{name} bakes {trays} trays of muffins with {per_tray} muffins per tray and sells them for "
        "${price} each. Ingredients cost ${cost}, and baking takes {hours} hours. At closing "
        "{left} muffins are unsold.",
        [
            Q("How many muffins does {name} bake?", lambda v: v.trays * v.per_tray, 1, "high"),
            Q(
                "How much money does {name} make from the muffins sold?",
                lambda v: (v.trays * v.per_tray - v.left) * v.price,
                3,
                "high",
            ),
            Q(
                "What is {name}'s profit after paying for ingredients?",
                lambda v: (v.trays * v.per_tray - v.left) * v.price - v.cost,
                4,
                "medium",
            ),
            Q("How many muffins are sold?", lambda v: v.trays * v.per_tray - v.left, 2, "medium"),
            Q(
                "How many muffins are baked per hour?",
                lambda v: F(v.trays * v.per_tray, v.hours),
                2,
                "low",
            ),
            Q(
                "How much money do the unsold muffins represent?",
                lambda v: v.left * v.price,
                1,
                "low",
            ),
        ],
    ),
    T(
        "pizza_party",
        "cooking",
        _pizza,
        "{name} orders {pizzas} pizzas cut into {slices} slices each for {people} people. Each "
        "person eats {each} slices. Each pizza costs ${price}, plus a {tip}% tip on the total.",
        [
            Q(
                "How many slices are left over?",
                lambda v: max(0, v.pizzas * v.slices - v.people * v.each),
                3,
                "high",
            ),
            Q(
                "How much does the order cost with the tip?",
                lambda v: v.pizzas * v.price * F(100 + v.tip, 100),
                3,
                "high",
            ),
            Q("How many slices are there in total?", lambda v: v.pizzas * v.slices, 1, "medium"),
            Q(
                "How many slices do the people eat?",
                lambda v: min(v.pizzas * v.slices, v.people * v.each),
                2,
                "medium",
            ),
            Q("How much is the tip?", lambda v: v.pizzas * v.price * F(v.tip, 100), 2, "low"),
            Q(
                "How much does one pizza cost with the tip?",
                lambda v: v.price * F(100 + v.tip, 100),
                2,
                "low",
            ),
        ],
    ),
    T(
        "coffee_habit",
        "cooking",
        _coffee,
        "{name} brews {cups} cups of coffee a day using {grams} grams of beans per cup. A "
        "{bag}-gram bag of beans costs ${bag_price}. A cup at the cafe costs ${cafe}.",
        [
            Q(
                "How many grams of beans does {name} use in {days} days?",
                lambda v: v.cups * v.grams * v.days,
                2,
                "high",
            ),
            Q(
                "How much do the beans for one cup cost?",
                lambda v: F(v.bag_price * v.grams, v.bag),
                2,
                "high",
            ),
            Q(
                "How much would {days} days of the same cups cost at the cafe?",
                lambda v: v.cups * v.cafe * v.days,
                2,
                "medium",
            ),
            Q("How many full cups does one bag make?", lambda v: v.bag // v.grams, 1, "medium"),
            Q(
                "How much does {name} save in {days} days by brewing at home instead of buying at the cafe?",
                lambda v: v.cups * v.days * (v.cafe - F(v.bag_price * v.grams, v.bag)),
                5,
                "low",
            ),
            Q(
                "How many grams of beans does {name} use each day?",
                lambda v: v.cups * v.grams,
                1,
                "low",
            ),
        ],
    ),
    T(
        "meal_prep",
        "cooking",
        _meal_prep,
        "{name} prepares {boxes} lunch boxes, each with {rice} grams of rice and {chicken} grams "
        "of chicken. Chicken costs ${kg_price} per kilogram and rice costs ${rice_kg} per "
        "kilogram. Packing takes {minutes} minutes per box.",
        [
            Q(
                "How many grams of chicken does {name} need?",
                lambda v: v.boxes * v.chicken,
                1,
                "high",
            ),
            Q(
                "How much does the chicken cost?",
                lambda v: F(v.boxes * v.chicken * v.kg_price, 1000),
                2,
                "high",
            ),
            Q(
                "How much do the ingredients for all boxes cost?",
                lambda v: F(v.boxes * (v.chicken * v.kg_price + v.rice * v.rice_kg), 1000),
                4,
                "medium",
            ),
            Q("How many minutes does packing take?", lambda v: v.boxes * v.minutes, 1, "medium"),
            Q(
                "How many grams of food are in all the boxes together?",
                lambda v: v.boxes * (v.rice + v.chicken),
                2,
                "low",
            ),
            Q(
                "What do the ingredients of one box cost?",
                lambda v: F(v.chicken * v.kg_price + v.rice * v.rice_kg, 1000),
                3,
                "low",
            ),
        ],
    ),
    T(
        "road_trip",
        "travel",
        _road_trip,
        "{name} drives {dist} miles at an average {speed} miles per hour. The car goes {mpg} "
        "miles per gallon and gas costs ${gas} a gallon. {name} makes {stops} stops of "
        "{stop_min} minutes each.",
        [
            Q(
                "How many hours of driving does the trip take?",
                lambda v: F(v.dist, v.speed),
                1,
                "high",
            ),
            Q(
                "How much does the gas for the trip cost?",
                lambda v: F(v.dist, v.mpg) * v.gas,
                2,
                "high",
            ),
            Q(
                "How many minutes does the whole trip take, stops included?",
                lambda v: F(v.dist, v.speed) * 60 + v.stops * v.stop_min,
                4,
                "medium",
            ),
            Q(
                "How many gallons of gas does the trip use?",
                lambda v: F(v.dist, v.mpg),
                1,
                "medium",
            ),
            Q(
                "How much would gas for the round trip cost?",
                lambda v: 2 * F(v.dist, v.mpg) * v.gas,
                3,
                "low",
            ),
            Q(
                "How many minutes does {name} spend stopped?",
                lambda v: v.stops * v.stop_min,
                1,
                "low",
            ),
        ],
    ),
    T(
        "train_trip",
        "travel",
        _train,
        "{adults} adults and {kids} children take the train with {name}. An adult fare is "
        "${fare} per leg and children pay {kid_off}% less. The journey has {legs} legs of "
        "{ride} minutes each, with {wait} minutes of waiting between legs.",
        [
            Q(
                "How much do the tickets for the whole group cost?",
                lambda v: (
                    v.legs * ((v.adults + 1) * v.fare + v.kids * v.fare * F(100 - v.kid_off, 100))
                ),
                4,
                "high",
            ),
            Q(
                "How many minutes does the journey take from the first departure to the last arrival?",
                lambda v: v.legs * v.ride + (v.legs - 1) * v.wait,
                3,
                "high",
            ),
            Q(
                "How much does one child's ticket for one leg cost?",
                lambda v: v.fare * F(100 - v.kid_off, 100),
                1,
                "medium",
            ),
            Q("How many people travel?", lambda v: v.adults + v.kids + 1, 1, "medium"),
            Q("How many minutes are spent waiting?", lambda v: (v.legs - 1) * v.wait, 2, "low"),
            Q(
                "How much do the children's discounts save in total?",
                lambda v: v.legs * v.kids * v.fare * F(v.kid_off, 100),
                3,
                "low",
            ),
        ],
    ),
    T(
        "hotel_stay",
        "travel",
        _hotel,
        "{name} books {rooms} rooms for {nights} nights at ${rate} per room per night, plus a "
        "${fee} resort fee per room per night. Every {free_every}th night is free (no rate, but "
        "the fee is charged). The trip budget is ${budget}.",
        [
            Q(
                "How much does the stay cost?",
                lambda v: (
                    v.rooms * ((v.nights - v.nights // v.free_every) * v.rate + v.nights * v.fee)
                ),
                5,
                "high",
            ),
            Q("How many nights are free?", lambda v: v.nights // v.free_every, 1, "high"),
            Q(
                "How much are the resort fees in total?",
                lambda v: v.rooms * v.nights * v.fee,
                2,
                "medium",
            ),
            Q(
                "How much would the stay cost without any free nights?",
                lambda v: v.rooms * v.nights * (v.rate + v.fee),
                3,
                "medium",
            ),
            Q(
                "How much of the budget is left after the stay?",
                lambda v: (
                    v.budget
                    - v.rooms * ((v.nights - v.nights // v.free_every) * v.rate + v.nights * v.fee)
                ),
                6,
                "low",
            ),
            Q("How many room-nights are booked?", lambda v: v.rooms * v.nights, 1, "low"),
        ],
    ),
    T(
        "flight",
        "travel",
        _flight,
        "{people} friends fly together, including {name}. A ticket costs ${ticket}, and each "
        "person checks {bags} bags at ${bag_fee} per bag. The flight is {miles} miles, and each "
        "person earns {per_mile} reward points per 100 miles.",
        [
            Q(
                "How much does the group pay in total?",
                lambda v: v.people * (v.ticket + v.bags * v.bag_fee),
                3,
                "high",
            ),
            Q("How much does one person pay?", lambda v: v.ticket + v.bags * v.bag_fee, 2, "high"),
            Q(
                "How much does the group pay in bag fees?",
                lambda v: v.people * v.bags * v.bag_fee,
                2,
                "medium",
            ),
            Q(
                "How many reward points does each person earn?",
                lambda v: v.miles // 100 * v.per_mile,
                2,
                "medium",
            ),
            Q("How many bags does the group check?", lambda v: v.people * v.bags, 1, "low"),
            Q(
                "How many reward points does the group earn on the round trip?",
                lambda v: 2 * v.people * (v.miles // 100 * v.per_mile),
                3,
                "low",
            ),
        ],
    ),
    T(
        "cycling_tour",
        "travel",
        _cycling,
        "{name} cycles at {speed} miles per hour for {hours} hours a day, {days} days a week, "
        "burning {cal} calories per mile. {name}'s goal for the season is {goal} miles, and "
        "{name} rests {rest} days a week.",
        [
            Q(
                "How many miles does {name} cycle in a week?",
                lambda v: v.speed * v.hours * v.days,
                2,
                "high",
            ),
            Q("How many miles does {name} cycle in a day?", lambda v: v.speed * v.hours, 1, "high"),
            Q(
                "How many calories does {name} burn in a day of cycling?",
                lambda v: v.speed * v.hours * v.cal,
                2,
                "medium",
            ),
            Q(
                "How many full weeks does {name} need to reach the goal?",
                lambda v: -(-v.goal // (v.speed * v.hours * v.days)),
                3,
                "medium",
            ),
            Q("How many hours does {name} cycle in a week?", lambda v: v.hours * v.days, 1, "low"),
            Q(
                "How many calories does {name} burn in a week?",
                lambda v: v.speed * v.hours * v.days * v.cal,
                3,
                "low",
            ),
        ],
    ),
    T(
        "savings_goal",
        "finance",
        _savings,
        "{name} has ${start} saved and adds ${weekly} every week. {name} wants ${goal} for a "
        "laptop and spends ${spend} on a gift in week {weeks}.",
        [
            Q(
                "How much has {name} saved after {weeks} weeks, after buying the gift?",
                lambda v: v.start + v.weekly * v.weeks - v.spend,
                3,
                "high",
            ),
            Q(
                "How many weeks of saving, without the gift, does {name} need to reach ${goal}?",
                lambda v: max(0, -(-(v.goal - v.start) // v.weekly)),
                3,
                "high",
            ),
            Q(
                "How much does {name} add in {weeks} weeks?",
                lambda v: v.weekly * v.weeks,
                1,
                "medium",
            ),
            Q(
                "How much more does {name} need for the laptop after {weeks} weeks and the gift?",
                lambda v: max(0, v.goal - (v.start + v.weekly * v.weeks - v.spend)),
                4,
                "medium",
            ),
            Q(
                "If {name} saved {rate} dollars more each week, how much would {name} add in {weeks} weeks?",
                lambda v: (v.weekly + v.rate) * v.weeks,
                2,
                "low",
            ),
            Q(
                "How much would {name} have after {weeks} weeks without buying the gift?",
                lambda v: v.start + v.weekly * v.weeks,
                2,
                "low",
            ),
        ],
    ),
    T(
        "salary",
        "finance",
        _salary,
        "{name} earns ${wage} an hour for {hours} hours a week, and 1.5 times that for overtime. "
        "This week {name} works {ot} hours of overtime. {tax}% of pay goes to tax, and rent is "
        "${rent} a month.",
        [
            Q(
                "How much does {name} earn this week before tax?",
                lambda v: v.wage * v.hours + F(3, 2) * v.wage * v.ot,
                3,
                "high",
            ),
            Q(
                "How much does {name} take home this week after tax?",
                lambda v: (v.wage * v.hours + F(3, 2) * v.wage * v.ot) * F(100 - v.tax, 100),
                4,
                "high",
            ),
            Q("What is {name}'s overtime hourly rate?", lambda v: F(3, 2) * v.wage, 1, "medium"),
            Q(
                "How much does {name} earn in a regular week without overtime?",
                lambda v: v.wage * v.hours,
                1,
                "medium",
            ),
            Q(
                "After a {raise_}% raise, what would {name}'s hourly wage be?",
                lambda v: v.wage * F(100 + v.raise_, 100),
                2,
                "low",
            ),
            Q(
                "How many regular hours must {name} work to pay a month's rent before tax?",
                lambda v: -(-v.rent // v.wage),
                2,
                "low",
            ),
        ],
    ),
    T(
        "loan",
        "finance",
        _loan,
        "{name} borrows ${amount} at {rate}% simple interest per year for {years} years, and has "
        "paid ${paid} a month for {months} months so far.",
        [
            Q(
                "How much interest does {name} owe over the whole loan?",
                lambda v: v.amount * F(v.rate, 100) * v.years,
                2,
                "high",
            ),
            Q(
                "How much must {name} repay in total?",
                lambda v: v.amount * (1 + F(v.rate, 100) * v.years),
                3,
                "high",
            ),
            Q("How much has {name} paid so far?", lambda v: v.paid * v.months, 1, "medium"),
            Q(
                "How much of the total is still to be repaid?",
                lambda v: max(0, v.amount * (1 + F(v.rate, 100) * v.years) - v.paid * v.months),
                4,
                "medium",
            ),
            Q(
                "How much interest accrues in one year?",
                lambda v: v.amount * F(v.rate, 100),
                1,
                "low",
            ),
            Q(
                "If the rate were twice as high, how much interest would {name} owe in total?",
                lambda v: v.amount * F(2 * v.rate, 100) * v.years,
                2,
                "low",
            ),
        ],
    ),
    T(
        "lemonade_stand",
        "finance",
        _lemonade,
        "{name} sells {cups} cups of lemonade a day at ${price} a cup. Each day uses {lemons} "
        "lemons at ${lemon} each and ${sugar} of sugar. The stand is open {days} days.",
        [
            Q(
                "What is {name}'s profit per day?",
                lambda v: v.cups * v.price - v.lemons * v.lemon - v.sugar,
                3,
                "high",
            ),
            Q(
                "What is {name}'s total profit over {days} days?",
                lambda v: v.days * (v.cups * v.price - v.lemons * v.lemon - v.sugar),
                4,
                "high",
            ),
            Q("How much does {name} take in per day?", lambda v: v.cups * v.price, 1, "medium"),
            Q(
                "How much do the supplies cost per day?",
                lambda v: v.lemons * v.lemon + v.sugar,
                2,
                "medium",
            ),
            Q(
                "How many cups does {name} sell over {days} days?",
                lambda v: v.cups * v.days,
                1,
                "low",
            ),
            Q(
                "How much do lemons cost over {days} days?",
                lambda v: v.days * v.lemons * v.lemon,
                2,
                "low",
            ),
        ],
    ),
    T(
        "stocks",
        "finance",
        _stocks,
        "{name} buys {shares} shares at ${buy} each, paying a ${fee} fee. The price rises {up}%, "
        "and each share pays a ${div} dividend. Then {name} sells {sold} shares, paying the fee "
        "again.",
        [
            Q(
                "What is one share worth after the rise?",
                lambda v: v.buy * F(100 + v.up, 100),
                1,
                "high",
            ),
            Q(
                "How much money does {name} receive from the sale, after the fee?",
                lambda v: v.sold * v.buy * F(100 + v.up, 100) - v.fee,
                3,
                "high",
            ),
            Q(
                "How much did {name} pay for the shares, fee included?",
                lambda v: v.shares * v.buy + v.fee,
                2,
                "medium",
            ),
            Q(
                "How much does {name} receive in dividends?",
                lambda v: v.shares * v.div,
                1,
                "medium",
            ),
            Q("How many shares does {name} keep?", lambda v: v.shares - v.sold, 1, "low"),
            Q(
                "What are {name}'s kept shares worth after the rise?",
                lambda v: (v.shares - v.sold) * v.buy * F(100 + v.up, 100),
                3,
                "low",
            ),
        ],
    ),
    T(
        "classroom",
        "school",
        _classroom,
        "{name}'s class has {boys} boys and {girls} girls. Each student needs {pencils} pencils, "
        "and pencils come in boxes of {box}. Today {absent} students are absent.",
        [
            Q(
                "How many pencils does the class need?",
                lambda v: (v.boys + v.girls) * v.pencils,
                2,
                "high",
            ),
            Q(
                "How many boxes of pencils must be bought?",
                lambda v: -(-((v.boys + v.girls) * v.pencils) // v.box),
                3,
                "high",
            ),
            Q("How many students are in the class?", lambda v: v.boys + v.girls, 1, "medium"),
            Q(
                "How many students are present today?",
                lambda v: v.boys + v.girls - v.absent,
                2,
                "medium",
            ),
            Q(
                "How many pencils are left over from the boxes?",
                lambda v: (
                    -(-((v.boys + v.girls) * v.pencils) // v.box) * v.box
                    - (v.boys + v.girls) * v.pencils
                ),
                4,
                "low",
            ),
            Q(
                "How many pencils do the students present today need?",
                lambda v: (v.boys + v.girls - v.absent) * v.pencils,
                3,
                "low",
            ),
        ],
    ),
    T(
        "grades",
        "school",
        _grades,
        "{name} scored {s1}, {s2}, {s3} and {s4} on four tests. The final exam counts for {w}% of "
        "the grade and the tests' average for the rest. {name} wants a final grade of {target}.",
        [
            Q(
                "What is {name}'s test average?",
                lambda v: F(v.s1 + v.s2 + v.s3 + v.s4, 4),
                2,
                "high",
            ),
            Q(
                "What exam score does {name} need for a final grade of {target}?",
                lambda v: (
                    (v.target - F(100 - v.w, 100) * F(v.s1 + v.s2 + v.s3 + v.s4, 4)) / F(v.w, 100)
                ),
                4,
                "high",
            ),
            Q(
                "What is the sum of {name}'s test scores?",
                lambda v: v.s1 + v.s2 + v.s3 + v.s4,
                1,
                "medium",
            ),
            Q(
                "What would the final grade be with an exam score of 100?",
                lambda v: F(100 - v.w, 100) * F(v.s1 + v.s2 + v.s3 + v.s4, 4) + v.w,
                3,
                "medium",
            ),
            Q(
                "How many points apart are the highest and the lowest test scores?",
                lambda v: max(v.s1, v.s2, v.s3, v.s4) - min(v.s1, v.s2, v.s3, v.s4),
                2,
                "low",
            ),
            Q(
                "By how much did the last test score change from the first?",
                lambda v: abs(v.s4 - v.s1),
                1,
                "low",
            ),
        ],
    ),
    T(
        "field_trip",
        "school",
        _field_trip,
        "{name} plans a field trip for {students} students. Each bus holds {seats} students and "
        "costs ${bus}. Museum tickets are ${ticket} per student, one chaperone comes for every "
        "{chaperone} students (free entry), and lunch is ${lunch} per student.",
        [
            Q("How many buses are needed?", lambda v: -(-v.students // v.seats), 1, "high"),
            Q(
                "How much does the trip cost in total?",
                lambda v: -(-v.students // v.seats) * v.bus + v.students * (v.ticket + v.lunch),
                4,
                "high",
            ),
            Q("How much do the museum tickets cost?", lambda v: v.students * v.ticket, 1, "medium"),
            Q("How many chaperones come?", lambda v: -(-v.students // v.chaperone), 1, "medium"),
            Q(
                "How many empty seats are on the buses?",
                lambda v: -(-v.students // v.seats) * v.seats - v.students,
                3,
                "low",
            ),
            Q(
                "How many people go on the trip, counting the chaperones?",
                lambda v: v.students + -(-v.students // v.chaperone),
                2,
                "low",
            ),
        ],
    ),
    T(
        "reading_plan",
        "school",
        _reading,
        "{name}'s book has {pages} pages and {name} reads {per_day} pages a day. {name} has "
        "already read for {read} days. A page has about {words} words, and {name} reads "
        "{speed} words a minute. The summer list has {books} such books.",
        [
            Q(
                "How many days does it take to finish the book?",
                lambda v: v.pages // v.per_day,
                1,
                "high",
            ),
            Q(
                "How many pages are left to read?",
                lambda v: v.pages - v.read * v.per_day,
                2,
                "high",
            ),
            Q(
                "How many more days until {name} finishes?",
                lambda v: v.pages // v.per_day - v.read,
                2,
                "medium",
            ),
            Q(
                "How many minutes does {name} read each day?",
                lambda v: F(v.per_day * v.words, v.speed),
                2,
                "medium",
            ),
            Q(
                "How many pages are on the whole summer list?",
                lambda v: v.books * v.pages,
                1,
                "low",
            ),
            Q("How many words are in the book?", lambda v: v.pages * v.words, 1, "low"),
        ],
    ),
    T(
        "exam_prep",
        "school",
        _exam_prep,
        "{name} studies {subjects} subjects for {hours} hours each per week, over {days} days "
        "before the exams, in {sessions} sessions a day with {break_min}-minute breaks between "
        "sessions. {name} has {cards} flashcards per subject.",
        [
            Q(
                "How many hours does {name} study per week?",
                lambda v: v.subjects * v.hours,
                1,
                "high",
            ),
            Q("How many flashcards does {name} have?", lambda v: v.subjects * v.cards, 1, "high"),
            Q(
                "How many study sessions are there before the exams?",
                lambda v: v.days * v.sessions,
                1,
                "medium",
            ),
            Q(
                "How many minutes of breaks does {name} take before the exams?",
                lambda v: v.days * (v.sessions - 1) * v.break_min,
                3,
                "medium",
            ),
            Q(
                "If {name} reviews every flashcard once a day, how many reviews are done before the exams?",
                lambda v: v.days * v.subjects * v.cards,
                2,
                "low",
            ),
            Q("How many breaks does {name} take each day?", lambda v: v.sessions - 1, 1, "low"),
        ],
    ),
    T(
        "vegetable_garden",
        "garden and farm",
        _garden,
        "{name} plants {rows} rows of tomatoes with {plants} plants per row. Each plant yields "
        "{yield_} kilograms, and tomatoes sell for ${price} per kilogram. Each plant needs "
        "{water} liters of water a day. Pests destroy {lost}% of the harvest.",
        [
            Q(
                "How many kilograms of tomatoes are left after the pests?",
                lambda v: v.rows * v.plants * v.yield_ * F(100 - v.lost, 100),
                4,
                "high",
            ),
            Q(
                "How much money does {name} make selling the tomatoes left after the pests?",
                lambda v: v.rows * v.plants * v.yield_ * F(100 - v.lost, 100) * v.price,
                5,
                "high",
            ),
            Q("How many tomato plants are there?", lambda v: v.rows * v.plants, 1, "medium"),
            Q(
                "How many liters of water does the garden need per day?",
                lambda v: v.rows * v.plants * v.water,
                2,
                "medium",
            ),
            Q(
                "How many kilograms would the plants yield without pests?",
                lambda v: v.rows * v.plants * v.yield_,
                2,
                "low",
            ),
            Q(
                "How many liters of water does the garden need in a week?",
                lambda v: 7 * v.rows * v.plants * v.water,
                3,
                "low",
            ),
        ],
    ),
    T(
        "chickens",
        "garden and farm",
        _chickens,
        "{name} keeps {hens} hens that each lay {eggs} eggs a week. The family eats {eaten} eggs a "
        "week, the rest are sold in full dozens at ${dozen} a dozen, and feed costs ${feed} a week.",
        [
            Q("How many eggs do the hens lay in a week?", lambda v: v.hens * v.eggs, 1, "high"),
            Q(
                "How much money does {name} make from eggs each week?",
                lambda v: (v.hens * v.eggs - v.eaten) // 12 * v.dozen,
                4,
                "high",
            ),
            Q(
                "What is {name}'s weekly profit after feed?",
                lambda v: (v.hens * v.eggs - v.eaten) // 12 * v.dozen - v.feed,
                5,
                "medium",
            ),
            Q(
                "How many eggs are left for sale each week?",
                lambda v: v.hens * v.eggs - v.eaten,
                2,
                "medium",
            ),
            Q("How much does feed cost over four weeks?", lambda v: 4 * v.feed, 1, "low"),
            Q(
                "How many eggs do the hens lay in four weeks?",
                lambda v: 4 * v.hens * v.eggs,
                2,
                "low",
            ),
        ],
    ),
    T(
        "orchard",
        "garden and farm",
        _orchard,
        "{name}'s orchard has {trees} apple trees with {apples} apples each. {bad}% of the apples "
        "are bruised and thrown away. The rest go into crates of {crate}, sold at ${crate_price} a "
        "crate. {pickers} pickers share the picking equally.",
        [
            Q(
                "How many good apples are there?",
                lambda v: v.trees * v.apples * F(100 - v.bad, 100),
                3,
                "high",
            ),
            Q(
                "How many full crates can be filled?",
                lambda v: v.trees * v.apples * (100 - v.bad) // 100 // v.crate,
                4,
                "high",
            ),
            Q(
                "How much money do the full crates bring in?",
                lambda v: v.trees * v.apples * (100 - v.bad) // 100 // v.crate * v.crate_price,
                5,
                "medium",
            ),
            Q("How many apples grow in the orchard?", lambda v: v.trees * v.apples, 1, "medium"),
            Q(
                "How many trees does each picker pick, on average?",
                lambda v: F(v.trees, v.pickers),
                1,
                "low",
            ),
            Q(
                "How many apples are thrown away?",
                lambda v: v.trees * v.apples * F(v.bad, 100),
                2,
                "low",
            ),
        ],
    ),
    T(
        "fence",
        "garden and farm",
        _fence,
        "{name} fences a rectangular field {length} meters long and {width} meters wide, leaving "
        "a {gate}-meter gap for a gate. A post goes every {post} meters of fence at ${post_price} "
        "a post, and the wire runs {wire} strands high.",
        [
            Q(
                "What is the perimeter of the field in meters?",
                lambda v: 2 * (v.length + v.width),
                1,
                "high",
            ),
            Q(
                "How many meters of fence are needed?",
                lambda v: 2 * (v.length + v.width) - v.gate,
                2,
                "high",
            ),
            Q(
                "How many meters of wire are needed?",
                lambda v: (2 * (v.length + v.width) - v.gate) * v.wire,
                3,
                "medium",
            ),
            Q(
                "How much do the posts cost?",
                lambda v: F(2 * (v.length + v.width) - v.gate, v.post) * v.post_price,
                3,
                "medium",
            ),
            Q(
                "What is the area of the field in square meters?",
                lambda v: v.length * v.width,
                1,
                "low",
            ),
            Q(
                "How many meters longer is the field than it is wide?",
                lambda v: v.length - v.width,
                1,
                "low",
            ),
        ],
    ),
    T(
        "beehives",
        "garden and farm",
        _beehive,
        "{name} has {hives} beehives that each give {honey} kilograms of honey a season. Honey is "
        "sold in {jar}-kilogram jars at ${jar_price} each, {name} keeps {keep} kilograms for the "
        "family, and each hive also gives {wax} kilograms of wax.",
        [
            Q(
                "How many kilograms of honey do the hives give in a season?",
                lambda v: v.hives * v.honey,
                1,
                "high",
            ),
            Q(
                "How many jars of honey does {name} sell?",
                lambda v: (v.hives * v.honey - v.keep) // v.jar,
                3,
                "high",
            ),
            Q(
                "How much money does the honey bring in?",
                lambda v: (v.hives * v.honey - v.keep) // v.jar * v.jar_price,
                4,
                "medium",
            ),
            Q(
                "How many kilograms of honey are sold?",
                lambda v: v.hives * v.honey - v.keep,
                2,
                "medium",
            ),
            Q("How many kilograms of wax do the hives give?", lambda v: v.hives * v.wax, 1, "low"),
            Q(
                "How many kilograms of honey and wax do the hives give together?",
                lambda v: v.hives * (v.honey + v.wax),
                2,
                "low",
            ),
        ],
    ),
    T(
        "painting",
        "home and health",
        _painting,
        "{name} paints {walls} walls, each {w} meters wide and {h} meters high, with {coats} "
        "coats. A liter of paint covers {cover} square meters, and a can holds 1 liter and costs "
        "${can}.",
        [
            Q(
                "What is the total wall area in square meters?",
                lambda v: v.walls * v.w * v.h,
                2,
                "high",
            ),
            Q(
                "How many liters of paint are needed?",
                lambda v: F(v.walls * v.w * v.h * v.coats, v.cover),
                3,
                "high",
            ),
            Q(
                "How many cans must {name} buy?",
                lambda v: -(-(v.walls * v.w * v.h * v.coats) // v.cover),
                4,
                "medium",
            ),
            Q(
                "How much does the paint cost?",
                lambda v: -(-(v.walls * v.w * v.h * v.coats) // v.cover) * v.can,
                5,
                "medium",
            ),
            Q("What is the area of one wall in square meters?", lambda v: v.w * v.h, 1, "low"),
            Q(
                "How many square meters are painted in total, counting every coat?",
                lambda v: v.walls * v.w * v.h * v.coats,
                3,
                "low",
            ),
        ],
    ),
    T(
        "running",
        "home and health",
        _running,
        "{name} runs {km} kilometers {runs} times a week at {pace} minutes per kilometer, burning "
        "{cal} calories per kilometer. Running shoes last {shoes} kilometers. {name} is training "
        "for a {race}-kilometer race.",
        [
            Q("How many kilometers does {name} run per week?", lambda v: v.km * v.runs, 1, "high"),
            Q(
                "How many minutes does {name} run per week?",
                lambda v: v.km * v.runs * v.pace,
                2,
                "high",
            ),
            Q(
                "How many minutes would the race take at the same pace?",
                lambda v: v.race * v.pace,
                1,
                "medium",
            ),
            Q(
                "How many calories does {name} burn per week?",
                lambda v: v.km * v.runs * v.cal,
                2,
                "medium",
            ),
            Q(
                "How many full weeks does a pair of shoes last?",
                lambda v: v.shoes // (v.km * v.runs),
                2,
                "low",
            ),
            Q(
                "How many kilometers longer is the race than one of {name}'s runs?",
                lambda v: v.race - v.km,
                1,
                "low",
            ),
        ],
    ),
    T(
        "medicine",
        "home and health",
        _medicine,
        "{name} takes {tabs} tablets of {mg} mg {times} times a day for {days} days. A bottle "
        "holds {bottle} tablets and costs ${price}.",
        [
            Q(
                "How many tablets does {name} take over the course?",
                lambda v: v.tabs * v.times * v.days,
                2,
                "high",
            ),
            Q(
                "How many bottles does {name} need?",
                lambda v: -(-(v.tabs * v.times * v.days) // v.bottle),
                3,
                "high",
            ),
            Q(
                "How many mg does {name} take per day?",
                lambda v: v.tabs * v.mg * v.times,
                2,
                "medium",
            ),
            Q(
                "How much do the bottles cost?",
                lambda v: -(-(v.tabs * v.times * v.days) // v.bottle) * v.price,
                4,
                "medium",
            ),
            Q(
                "How many tablets are left over in the last bottle?",
                lambda v: (
                    -(-(v.tabs * v.times * v.days) // v.bottle) * v.bottle
                    - v.tabs * v.times * v.days
                ),
                4,
                "low",
            ),
            Q(
                "How many grams of medicine does {name} take over the course?",
                lambda v: F(v.tabs * v.mg * v.times * v.days, 1000),
                3,
                "low",
            ),
        ],
    ),
    T(
        "electricity",
        "home and health",
        _electricity,
        "{name}'s heater uses {watts} watts and runs {hours} hours a day. Electricity costs {cents} "
        "cents per kilowatt-hour. {name} is considering {panels} solar panels that each produce "
        "{panel_kwh} kilowatt-hours a day.",
        [
            Q(
                "How many kilowatt-hours does the heater use per day?",
                lambda v: F(v.watts * v.hours, 1000),
                2,
                "high",
            ),
            Q(
                "How many dollars does the heater cost to run for {days} days?",
                lambda v: F(v.watts * v.hours, 1000) * v.days * F(v.cents, 100),
                4,
                "high",
            ),
            Q(
                "How many kilowatt-hours do the panels produce per day?",
                lambda v: v.panels * v.panel_kwh,
                1,
                "medium",
            ),
            Q(
                "How many dollars of electricity do the panels produce in {days} days?",
                lambda v: v.panels * v.panel_kwh * v.days * F(v.cents, 100),
                3,
                "medium",
            ),
            Q(
                "How many hours does the heater run in {days} days?",
                lambda v: v.hours * v.days,
                1,
                "low",
            ),
            Q(
                "How many kilowatt-hours would the heater use in {days} days if it ran twice as long each day?",
                lambda v: F(v.watts * v.hours * 2 * v.days, 1000),
                3,
                "low",
            ),
        ],
    ),
    T(
        "moving_day",
        "home and health",
        _moving,
        "{name} is moving {boxes} boxes. The truck carries {per_trip} boxes per trip, a round "
        "trip takes {trip_min} minutes, and the truck rents for ${truck} per hour. {movers} "
        "movers help, each paid ${wage} per hour.",
        [
            Q("How many trips are needed?", lambda v: -(-v.boxes // v.per_trip), 1, "high"),
            Q(
                "How many minutes does the move take?",
                lambda v: -(-v.boxes // v.per_trip) * v.trip_min,
                2,
                "high",
            ),
            Q(
                "How much does the truck cost?",
                lambda v: F(-(-v.boxes // v.per_trip) * v.trip_min, 60) * v.truck,
                3,
                "medium",
            ),
            Q(
                "How much are the movers paid in total?",
                lambda v: F(-(-v.boxes // v.per_trip) * v.trip_min, 60) * v.movers * v.wage,
                4,
                "medium",
            ),
            Q(
                "How many boxes go on the last trip?",
                lambda v: v.boxes - (-(-v.boxes // v.per_trip) - 1) * v.per_trip,
                3,
                "low",
            ),
            Q(
                "How much do the movers earn together per hour?",
                lambda v: v.movers * v.wage,
                1,
                "low",
            ),
        ],
    ),
)

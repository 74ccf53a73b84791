"""The built-in templates: everyday word problems, each with at least five questions.

Written for this project. The templates are data, in ``templates.toml`` beside this module: each
names its sampler, has its context text and its questions, and a question's answer is an
arithmetic expression of the sampled values ``v`` (``v.price * v.n``; ``F(a, b)`` is the exact
fraction a/b; ``abs``, ``max`` and ``min`` may be called). The samplers are here: each draws a
template's values from a seeded :class:`random.Random`, so that every answer is exact and
non-negative.
"""

from __future__ import annotations

import ast
import random
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from fractions import Fraction as F
from importlib import resources
from typing import Any

from sleeptime._errors import WorkloadError

Number = int | Fraction
Sampler = Callable[[random.Random], dict[str, Any]]


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
    sample: Sampler
    text: str
    questions: Sequence[QuestionTemplate]


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


#: Samplers by the name a template gives in ``templates.toml`` (``sample = "grocery"``).
SAMPLERS: dict[str, Sampler] = {fn.__name__.removeprefix("_"): fn for fn in (
    _grocery, _clothes, _bulk, _bookstore, _phone_plan, _recipe, _bakery, _pizza, _coffee,
    _meal_prep, _road_trip, _train, _hotel, _flight, _cycling, _savings, _salary, _loan, _lemonade,
    _stocks, _classroom, _grades, _field_trip, _reading, _exam_prep, _garden, _chickens, _orchard,
    _fence, _beehive, _painting, _running, _medicine, _electricity, _moving,
)}  # fmt: skip


#: What an answer expression may use: arithmetic on numbers and on the sampled values.
_FUNCTIONS: dict[str, Any] = {"F": Fraction, "abs": abs, "max": max, "min": min}
_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
    ast.Mod, ast.Pow, ast.USub, ast.UAdd, ast.Constant, ast.Name, ast.Attribute, ast.Call, ast.Load,
)  # fmt: skip


def _answer(expression: str, where: str) -> Callable[[V], Number]:
    """``expression`` compiled to a function of the sampled values; WorkloadError naming
    ``where`` for anything but arithmetic on numbers, ``v.<name>`` and :data:`_FUNCTIONS`."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise WorkloadError(
            f"{where}: answer {expression!r} is not an expression ({exc.msg})"
        ) from None
    for node in ast.walk(tree):
        allowed = isinstance(node, _NODES) and not (
            (isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, int | float)))
            or (isinstance(node, ast.Name) and node.id != "v" and node.id not in _FUNCTIONS)
            or (isinstance(node, ast.Attribute) and (node.attr.startswith("_") or not (isinstance(node.value, ast.Name) and node.value.id == "v")))
            or (isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords))
        )  # fmt: skip
        if not allowed:
            raise WorkloadError(f"{where}: answer {expression!r} may use numbers, v.<value>, + - * / // % **, F, abs, max and min only, not {ast.unparse(node)!r}")  # fmt: skip
    code = compile(tree, where, "eval")
    scope = {"__builtins__": {}, **_FUNCTIONS}
    return lambda v: eval(code, scope, {"v": v})  # checked above: arithmetic only


def load_templates(text: str, source: str = "templates.toml") -> tuple[ContextTemplate, ...]:
    """Templates from TOML ``text`` (the form of the built-in ``templates.toml``); WorkloadError
    naming ``source``, the template and the field at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkloadError(f"{source}: not valid TOML ({exc})") from None
    templates = []
    for i, t in enumerate(data.get("template", [])):
        where = f"{source}: template {t.get('name', i)!r}"
        missing = {"name", "domain", "sample", "text", "questions"} - set(t)
        if missing:
            raise WorkloadError(f"{where}: missing {sorted(missing)}")
        if t["sample"] not in SAMPLERS:
            raise WorkloadError(
                f"{where}: no sampler {t['sample']!r} (known: {', '.join(sorted(SAMPLERS))})"
            )
        questions = []
        for k, q in enumerate(t["questions"]):
            at = f"{where}, question {k + 1}"
            if q.get("predictability") not in ("high", "medium", "low") or not isinstance(
                q.get("steps"), int
            ):
                raise WorkloadError(f"{at}: needs text, answer, steps (an integer) and predictability (high, medium or low), got {q!r}")  # fmt: skip
            questions.append(QuestionTemplate(q["text"], _answer(q["answer"], at), q["steps"], q["predictability"]))  # fmt: skip
        templates.append(ContextTemplate(t["name"], t["domain"], SAMPLERS[t["sample"]], t["text"], tuple(questions)))  # fmt: skip
    return tuple(templates)


#: The built-in templates, in ``templates.toml``'s order.
TEMPLATES: tuple[ContextTemplate, ...] = load_templates(
    (resources.files("sleeptime.workloads") / "templates.toml").read_text(encoding="utf-8")
)

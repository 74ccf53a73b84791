from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

import pytest

from sleeptime import WorkloadError
from sleeptime.workloads import PREDICTABILITY_LEVELS, check_answer, generate_workload
from sleeptime.workloads._templates import SAMPLERS, TEMPLATES, V, load_templates


def test_templates_cover_domains_and_questions() -> None:
    assert len(TEMPLATES) >= 30
    domains = Counter(t.domain for t in TEMPLATES)
    assert len(domains) >= 6
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)
    for t in TEMPLATES:
        assert len(t.questions) >= 5, t.name
        assert len({q.text for q in t.questions}) == len(t.questions), t.name
        levels = {q.predictability for q in t.questions}
        assert levels == set(PREDICTABILITY_LEVELS), (
            t.name
        )  # obvious and surprising questions alike
        assert len({q.n_steps for q in t.questions}) >= 2, t.name


def test_generation_is_deterministic_for_a_seed() -> None:
    a = generate_workload(50, seed=7)
    b = generate_workload(50, seed=7)
    c = generate_workload(50, seed=8)
    assert a.contexts == b.contexts
    assert a.contexts != c.contexts


def test_every_context_has_five_plus_distinct_questions_with_meta() -> None:
    w = generate_workload(400, seed=3)
    assert w.summary()["queries_per_context"]["mean"] >= 5
    for ctx in w.contexts:
        assert len({q.question for q in ctx.queries}) >= 5
        for q in ctx.queries:
            assert q.meta["predictability"] in PREDICTABILITY_LEVELS
            assert q.meta["n_steps"] >= 1
            assert not q.answer.startswith("-")
            assert "{" not in q.question and "{" not in ctx.context
    assert {c.meta["template"] for c in w.contexts} == {t.name for t in TEMPLATES}


def _numbers(text: str) -> list[Fraction]:
    return [Fraction(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]


def _recompute(template: str, context: str, question: str) -> Fraction | None:
    """Answers derived independently, from the numbers printed in the context text."""
    n = _numbers(context)
    if template == "grocery":
        a, pa, b, pb, bill = n
        total = a * pa + b * pb
        if question == f"How much does {question.split()[3]} spend in total?":
            return total
        if question.startswith("How much change"):
            return bill - total
        return None
    if template == "road_trip":
        dist, speed, mpg, gas, stops, stop_min = n
        if question.startswith("How many hours"):
            return dist / speed
        if question.startswith("How much does the gas"):
            return dist / mpg * gas
        if question.startswith("How many minutes does the whole"):
            return dist / speed * 60 + stops * stop_min
        return None
    if template == "salary":
        wage, hours, _one_point_five, ot, tax, _rent = n
        gross = wage * hours + Fraction(3, 2) * wage * ot
        if "before tax" in question and "earn this week" in question:
            return gross
        if "take home" in question:
            return gross * (1 - tax / 100)
        return None
    if template == "painting":
        walls, w, h, coats, cover, _one, can = n
        liters = walls * w * h * coats / cover
        if question.startswith("How many liters"):
            return liters
        if question.startswith("How much does the paint cost"):
            return -(-liters // 1) * can
        return None
    if template == "medicine":
        tabs, _mg, times, days, bottle, _price = n
        total = tabs * times * days
        if question.startswith("How many tablets does"):
            return total
        if question.startswith("How many bottles"):
            return -(-total // bottle)
        return None
    return None


def test_answers_recomputed_independently_for_a_sample() -> None:
    w = generate_workload(35 * 12, seed=11)
    checked = Counter[str]()
    for ctx in w.contexts:
        for q in ctx.queries:
            expected = _recompute(ctx.meta["template"], ctx.context, q.question)
            if expected is not None:
                assert check_answer(q.answer, str(float(expected))), (
                    ctx.context,
                    q.question,
                    q.answer,
                )
                checked[ctx.meta["template"]] += 1
    assert set(checked) == {"grocery", "road_trip", "salary", "painting", "medicine"}
    assert sum(checked.values()) >= 100


def test_domain_filter_and_errors() -> None:
    w = generate_workload(20, seed=0, domains=["travel"])
    assert {c.meta["domain"] for c in w.contexts} == {"travel"}
    with pytest.raises(WorkloadError, match="no template has a domain"):
        generate_workload(5, domains=["space"])
    with pytest.raises(WorkloadError, match="at least 1"):
        generate_workload(0)


def test_an_edit_changes_one_value_and_the_answers_that_depend_on_it() -> None:
    from sleeptime import WorkloadError
    from sleeptime.workloads import Context
    from sleeptime.workloads._generator import edit_context

    w = generate_workload(120, seed=3)
    changed = total = 0
    for ctx in w.contexts:
        edited, key = edit_context(ctx)
        assert edited.context_id == ctx.context_id and edited.context != ctx.context
        assert edited.meta["edited_key"] == key and key in ctx.meta["values"]
        assert edited.meta["values"][key] != ctx.meta["values"][key]
        assert [
            k for k in ctx.meta["values"] if edited.meta["values"][k] != ctx.meta["values"][k]
        ] == [key]
        flags = [q.meta["answer_changed"] for q in edited.queries]
        assert flags == [
            a.answer != b.answer for a, b in zip(ctx.queries, edited.queries, strict=True)
        ]
        assert any(flags)
        changed += sum(flags)
        total += len(flags)
        assert edit_context(ctx) == (edited, key)  # the same seed, the same edit
    assert 0.2 < changed / total < 0.9
    with pytest.raises(WorkloadError, match="only built-in contexts"):
        edit_context(Context("doc-1", "text", w.contexts[0].queries, {}))


def test_templates_are_data_every_sampler_used() -> None:
    assert {t.sample for t in TEMPLATES} == set(SAMPLERS.values())


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ("__import__('os').getcwd()", "__import__"),
        ("v.__class__", "v.__class__"),
        ("v.a.real", "v.a.real"),
        ("max(v.a, key=abs)", "max(v.a, key=abs)"),
        ("'a' * 3", "'a'"),
        ("[v.a]", "[v.a]"),
        ("v.a +", "not an expression"),
    ],
)
def test_a_template_answer_is_arithmetic_only(answer: str, named: str) -> None:
    text = (
        '[[template]]\nname = "mine"\ndomain = "shopping"\nsample = "grocery"\ntext = "{name}"\n'
        f'questions = [{{ text = "q", answer = {answer!r}, steps = 1, predictability = "high" }}]\n'
    )
    with pytest.raises(
        WorkloadError, match=re.escape("my.toml: template 'mine', question 1")
    ) as err:
        load_templates(text, "my.toml")
    assert named in str(err.value)


def test_a_template_file_names_what_is_wrong() -> None:
    with pytest.raises(
        WorkloadError, match=r"my.toml: template 'mine': no sampler 'nope' \(known: .*grocery"
    ):
        load_templates(
            '[[template]]\nname = "mine"\ndomain = "d"\nsample = "nope"\ntext = ""\nquestions = []\n',
            "my.toml",
        )
    with pytest.raises(
        WorkloadError, match=r"my.toml: template 'mine': missing \['questions', 'text'\]"
    ):
        load_templates('[[template]]\nname = "mine"\ndomain = "d"\nsample = "grocery"\n', "my.toml")
    with pytest.raises(WorkloadError, match=r"my\.toml: not valid TOML"):
        load_templates("[[template]\n", "my.toml")
    ok = load_templates(
        '[[template]]\nname = "mine"\ndomain = "d"\nsample = "grocery"\ntext = "{name}"\nquestions = ['
        '{ text = "q", answer = "F(v.a, 4) + max(v.pa, 2) - abs(-1)", steps = 2, predictability = "low" }]\n',
        "my.toml",
    )
    answer = ok[0].questions[0].answer(V(a=3, pa=1))
    assert answer == Fraction(7, 4) and isinstance(answer, Fraction)

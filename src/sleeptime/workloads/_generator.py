"""The built-in workload generator: word-problem contexts with several questions each.

Templates (written for this project, in :mod:`sleeptime.workloads._templates`, which also holds
their types) sample their values from a seeded random generator, so ``generate_workload(n, seed)`` is the same on every
machine. Every answer is computed exactly (fractions) from the sampled values. Each question
records its number of reasoning steps and how predictable it is from the context: ``high`` (the
obvious next question), ``medium`` (a natural follow-up) or ``low`` (a surprising question).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from fractions import Fraction

from sleeptime._errors import WorkloadError
from sleeptime.workloads._templates import TEMPLATES, ContextTemplate, V
from sleeptime.workloads._types import Context, Query, Workload

Number = int | Fraction

#: Contexts of the built-in workload (``load_workload("builtin")``): the quickstart's size.
BUILTIN_CONTEXTS = 1400
#: Mean queries per context by domain in the policy scenarios: hot and cold documents; the
#: mean over domains is 4. The scenarios draw each context's count from a geometric
#: distribution with its domain's mean (a context's questions are drawn from its pool).
BUILTIN_QUERY_MEANS: dict[str, float] = {
    "shopping": 1.5, "cooking": 2.0, "travel": 2.5, "finance": 3.5,
    "school": 5.0, "garden and farm": 5.5, "home and health": 8.0,
}  # fmt: skip

#: Predictability levels of generated questions, from most to least expected.
PREDICTABILITY_LEVELS = ("high", "medium", "low")
_LEVEL_SCORE = {"high": 2, "medium": 1, "low": 0}


def format_number(value: Number) -> str:
    """An exact answer as text: ``12``, ``12.5``, ``-3.25``; refuses non-terminating decimals."""
    frac = Fraction(value)
    if frac.denominator == 1:
        return str(frac.numerator)
    den = frac.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        raise ValueError(f"{value} has no finite decimal form")
    places = 0
    while (frac * 10**places).denominator != 1:
        places += 1
    return f"{float(frac):.{places}f}"


def render(template: ContextTemplate, rng: random.Random) -> tuple[str, list[tuple[str, str]], V]:
    """Sample values and render the context and every (question, answer) of ``template``."""
    values = V(template.sample(rng))
    shown = {k: format_number(v) if isinstance(v, Fraction) else v for k, v in values.items()}
    context = template.text.format(**shown)
    qa = [(q.text.format(**shown), format_number(q.answer(values))) for q in template.questions]
    return context, qa, values


def generate_workload(
    n_contexts: int = 200,
    *,
    seed: int = 0,
    domains: Sequence[str] | None = None,
) -> Workload:
    """Generate ``n_contexts`` contexts, cycling through the templates in a seeded order.

    Every context carries all of its template's questions (at least five). ``domains`` keeps
    only templates of those domains. Context meta: ``benchmark="builtin"``, ``template``,
    ``domain``, and the sampled ``values``; query meta: ``n_steps``, ``predictability`` (a level
    of :data:`PREDICTABILITY_LEVELS`) and ``predictability_score`` (2, 1 or 0).
    """
    if n_contexts < 1:
        raise WorkloadError(f"n_contexts must be at least 1, not {n_contexts}")
    templates = [t for t in TEMPLATES if domains is None or t.domain in domains]
    if not templates:
        known = sorted({t.domain for t in TEMPLATES})
        raise WorkloadError(f"no template has a domain in {list(domains or [])}; known: {known}")
    order = random.Random(seed).sample(range(len(templates)), len(templates))
    contexts = []
    for i in range(n_contexts):
        template = templates[order[i % len(templates)]]
        rng = random.Random(f"{seed}:{i}")
        text, qa, values = render(template, rng)
        queries = tuple(
            Query(
                f"q{j}",
                question,
                answer,
                "numeric",
                {
                    "n_steps": spec.n_steps,
                    "predictability": spec.predictability,
                    "predictability_score": _LEVEL_SCORE[spec.predictability],
                },
            )
            for j, ((question, answer), spec) in enumerate(zip(qa, template.questions, strict=True))
        )
        meta = {
            "benchmark": "builtin",
            "template": template.name,
            "domain": template.domain,
            "values": {
                k: format_number(v) if isinstance(v, (int, Fraction)) else v
                for k, v in values.items()
            },
        }
        contexts.append(Context(f"builtin-{seed}-{i:05d}", text, queries, meta))
    return Workload(tuple(contexts), "builtin", f"builtin(seed={seed})")


def edit_context(context: Context, *, seed: int = 0) -> tuple[Context, str]:
    """The built-in ``context`` after an edit: one of its sampled numbers changed (drawn again
    from its template, the rest kept), the text and every answer recomputed. Returns the edited
    context (same id; meta ``edited_key``, and per query ``answer_changed``) and the key changed.
    The key is the first, in a seeded order, whose new value changes at least one answer."""
    template = next((t for t in TEMPLATES if t.name == context.meta.get("template")), None)
    parts = context.context_id.split("-")
    if template is None or len(parts) != 3 or parts[0] != "builtin":
        raise WorkloadError(f"{context.context_id}: only built-in contexts can be edited (they know their template)")  # fmt: skip
    values = template.sample(random.Random(f"{parts[1]}:{int(parts[2])}"))
    rng = random.Random(f"{parts[1]}:{int(parts[2])}:edit:{seed}")
    numeric = [
        k for k, v in values.items() if isinstance(v, (int, Fraction)) and not isinstance(v, bool)
    ]
    shown_old = {k: format_number(v) if isinstance(v, Fraction) else v for k, v in values.items()}
    old_answers = [format_number(q.answer(V(values))) for q in template.questions]
    for _ in range(20):
        fresh = template.sample(rng)
        for key in rng.sample(numeric, len(numeric)):
            if fresh[key] == values[key]:
                continue
            changed = V({**values, key: fresh[key]})
            try:
                answers = [format_number(q.answer(changed)) for q in template.questions]
                text = template.text.format(**{**shown_old, key: format_number(fresh[key]) if isinstance(fresh[key], Fraction) else fresh[key]})  # fmt: skip
            except (ValueError, ZeroDivisionError):
                continue
            if (
                text == context.context
                or answers == old_answers
                or any(a.startswith("-") for a in answers)
            ):
                continue
            shown = {
                k: format_number(v) if isinstance(v, Fraction) else v for k, v in changed.items()
            }
            questions = [q.text.format(**shown) for q in template.questions]
            queries = tuple(
                Query(q.query_id, questions[j], answers[j], q.answer_kind, {**q.meta, "answer_changed": answers[j] != old_answers[j]})
                for j, q in enumerate(context.queries)
            )  # fmt: skip
            meta = {**context.meta, "edited_key": key, "values": {**context.meta.get("values", {}), key: format_number(changed[key])}}  # fmt: skip
            return Context(context.context_id, text, queries, meta), key
    raise WorkloadError(f"{context.context_id}: no edit of one value changes an answer")

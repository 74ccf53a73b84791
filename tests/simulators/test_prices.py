from __future__ import annotations

import json
from pathlib import Path

import pytest

from sleeptime.simulators import (
    ModelPrice,
    PriceBook,
    PriceBookError,
    list_prices_2025,
    load_price_book,
    paper_abstract_prices,
)


def test_builtin_books() -> None:
    book = list_prices_2025()
    assert book.version == "list-2025" and "verify" in book.note
    mini = book.price("gpt-4o-mini")
    assert (mini.input_usd_per_mtok, mini.output_usd_per_mtok, mini.batch_discount) == (
        0.15,
        0.60,
        0.5,
    )
    assert book.price("claude-3.7-sonnet").cache_read_multiplier == 0.1
    abstract = paper_abstract_prices().price("gpt-4o-mini")
    # one test-time token costs as much as ten sleep-time tokens
    assert abstract.output_usd_per_mtok == pytest.approx(
        10 * abstract.output_usd_per_mtok * abstract.batch_discount
    )
    assert load_price_book("paper-abstract").version == "paper-abstract"


def test_user_books_from_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "mine.toml"
    toml.write_text(
        'version = "acme-2026"\n[models.acme-small]\ninput_usd_per_mtok = 0.1\noutput_usd_per_mtok = 0.4\nbatch_discount = 0.5\n'
    )
    book = load_price_book(toml)
    assert book.version == "acme-2026" and book.price("acme-small").output_usd_per_mtok == 0.4
    js = tmp_path / "mine.json"
    js.write_text(json.dumps(list_prices_2025().to_dict()))
    assert PriceBook.from_file(js).price("o1") == list_prices_2025().price("o1")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[models.m]\ninput_usd_per_mtok = -1\noutput_usd_per_mtok = 1\n", "must not be negative"),
        (
            "[models.m]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\ncolour = 3\n",
            "unknown keys ['colour']",
        ),
        ("[models.m]\ninput_usd_per_mtok = 1\n", "missing ['output_usd_per_mtok']"),
        ("[models.m]\ninput_usd_per_mtok = nan\noutput_usd_per_mtok = 1\n", "finite number"),
        ('[models.m]\ninput_usd_per_mtok = "cheap"\noutput_usd_per_mtok = 1\n', "finite number"),
        (
            "[models.m]\ninput_usd_per_mtok = 1\noutput_usd_per_mtok = 1\nbatch_discount = 2\n",
            "fraction of the list price",
        ),
        ("models = {}\n", "non-empty table"),
        ("prices = 1\n", "unknown top-level keys"),
        ("[models\n", "cannot parse"),
    ],
)
def test_bad_entries(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(PriceBookError) as info:
        PriceBook.from_file(path)
    assert needle in str(info.value) and "bad.toml" in str(info.value)


def test_missing_model_and_file(tmp_path: Path) -> None:
    with pytest.raises(PriceBookError, match=r"has no model 'gpt-9'.*gpt-4o-mini"):
        list_prices_2025().price("gpt-9")
    with pytest.raises(PriceBookError, match="no such price book file"):
        load_price_book(tmp_path / "none.toml")
    with pytest.raises(PriceBookError, match="decode_tokens_per_s must be positive"):
        ModelPrice(1, 1, decode_tokens_per_s=0)

"""The near-miss guard: prompts that differ in a decisive detail disagree; rewordings agree."""

from __future__ import annotations

import pytest

from shared.semantic.facts import extract
from shared.semantic.near_miss import near_miss
from shared.semantic.text import stem

AGREE = [
    ("How do I reset my password?", "How can I reset my password"),
    ("Refund order 1042, please.", "please refund order #1042"),
    ("Do not approve the invoice", "Don't approve the invoice"),
    ("I have not received my parcel", "I haven't received my parcel"),
    ("Total EUR 1,250.00", "total 1250 euros"),
    ("Total 1.250,00 EUR", "Total EUR 1250"),
    ("$250 refund", "two hundred and fifty dollars refund"),
    ("twenty five seats", "25 seats"),
    ("a 5% discount", "a discount of 5 percent"),
    ("Meeting on 3 May 2026", "meeting on May 3rd, 2026"),
    ("Meeting on 3 May 2026", "meeting on 2026-05-03"),
    ("Call me at 3pm", "call me at 15:00"),
    ("I was charged twice", "I was charged two times"),
    ("Cancel my Contoso subscription", "cancel my contoso subscription please"),
    ("May I get a refund for order 5?", "Can I get a refund for order 5?"),
    ("Transfer 100 from savings to checking", "Please transfer 100 to checking from savings"),
    ("Ship 10k units", "ship 10,000 units"),
    ("Ship 2 million units", "ship 2,000,000 units"),
    ("Where is my package? It is late.", "My package is late, where is it?"),
    ("Approve the purchase order", "Please grant the purchase order"),
]

DISAGREE = [
    ("Refund order 1042", "Refund order 1043", "number"),
    ("Refund 2 items", "Refund 3 items", "number"),
    ("Set the limit to 10%", "Set the limit to 10", "number"),
    ("Ship 5 kg", "Ship 5 lb", "number"),
    ("Pay 100 USD", "Pay 100 EUR", "number"),
    ("Ship 2 million units", "Ship 2 thousand units", "number"),
    ("refund the first invoice", "refund the second invoice", "number"),
    ("Cancel invoice INV-2024-001", "Cancel invoice INV-2024-002", "identifier"),
    ("Reset the router A12", "Reset the router A13", "identifier"),
    ("Look up account 0042", "Look up account 0043", "identifier"),
    ("Email jane@contoso.com", "Email john@contoso.com", "identifier"),
    ("Meeting on 3 May 2026", "Meeting on 4 May 2026", "date"),
    ("Meeting on 3 May 2026", "Meeting on 3 June 2026", "date"),
    ("Deliver on Monday", "Deliver on Tuesday", "date"),
    ("Report for next week", "Report for last week", "date"),
    ("Deliver tomorrow", "Deliver today", "date"),
    ("Call at 3pm", "Call at 4pm", "date"),
    ("Book it for 2026-05-03", "Book it for 2026-05-04", "date"),
    ("Approve the invoice", "Do not approve the invoice", "negation"),
    ("I received the refund", "I never received the refund", "negation"),
    ("Approve the refund but not the fee", "Approve the fee but not the refund", "negation"),
    ("Invoice from Contoso", "Invoice from Fabrikam", "entity"),
    ("Contoso ordered laptops", "Fabrikam ordered laptops", "entity"),
    ("Flights to Paris", "Flights to London", "entity"),
    ("The card is valid", "The card is invalid", "polarity"),
    ("The invoice is paid", "The invoice is unpaid", "polarity"),
    ("Approve the request", "Reject the request", "contrast"),
    ("Buy 10 shares", "Sell 10 shares", "contrast"),
    ("Send a daily report", "Send a weekly report", "contrast"),
    ("Increase the budget", "Decrease the budget", "contrast"),
    ("Orders before the cut-off", "Orders after the cut-off", "contrast"),
    ("Sort by price ascending", "Sort by price descending", "contrast"),
    ("Refund the customer", "Charge the customer", "contrast"),
    ("Transfer 100 from savings to checking", "Transfer 100 from checking to savings", "role"),
    ("Is gold heavier than lead?", "Is lead heavier than gold?", "role"),
    # Antonyms no list holds: everything the same but one content word.
    (
        "What is the salary of a senior developer?",
        "What is the salary of a junior developer?",
        "substitution",
    ),
    ("The meeting is at noon.", "The meeting is at midnight.", "substitution"),
    ("Is the package heavier than 5 kg?", "Is the package lighter than 5 kg?", "substitution"),
]


@pytest.mark.parametrize(("a", "b"), AGREE)
def test_rewordings_agree(a: str, b: str) -> None:
    assert near_miss(a, b) is None
    assert near_miss(b, a) is None


@pytest.mark.parametrize(("a", "b", "kind"), DISAGREE)
def test_a_decisive_difference_is_a_miss_named_by_kind(a: str, b: str, kind: str) -> None:
    assert near_miss(a, b) == kind
    assert near_miss(b, a) == kind


def test_identical_prompts_agree() -> None:
    text = "Invoice INV-7 from Contoso, 3 May 2026, EUR 1,250.00; do not pay before Friday."
    assert near_miss(text, text) is None


def test_facts_of_an_invoice_sentence() -> None:
    facts = extract(
        "Invoice INV-2024-001 from Contoso to Fabrikam, 3 May 2026, total EUR 1,250.00 at "
        "10:30 am; questions to billing@contoso.com"
    )
    assert facts.numbers == {"1250|eur"}
    assert facts.identifiers == {"inv2024001", "billing@contoso.com"}
    assert facts.dates == {"2026-05-03", "t10:30"}
    assert {"contoso", "fabrikam"} <= facts.entities
    assert facts.roles == {"from": {"contoso"}, "to": {"fabrikam"}}


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1,250", {"1250|"}),
        ("12,5 kg", {"12.5|kg"}),
        ("1.250.000", {"1250000|"}),
        ("5kg and 3x", {"5|kg", "3|x"}),
        ("a dozen eggs", {"12|"}),
        ("half day", {"0.5|day"}),
        ("items two and three", {"2|", "3|"}),
        ("-", set()),
    ],
)
def test_number_forms(text: str, numbers: set[str]) -> None:
    assert extract(text).numbers == numbers


def test_month_words_are_dates_only_where_they_name_a_month() -> None:
    assert extract("May I pay later?").dates == set()
    assert extract("We march on").dates == set()
    assert extract("Due in March").dates == {"03"}
    assert extract("Due May 2026").dates == {"2026-05"}


def test_sentence_initial_common_words_are_not_names() -> None:
    assert extract("Please refund me. How long will it take?").entities == set()
    # A name at the start of a sentence is still a name.
    assert extract("Contoso wants a refund.").entities == {"contoso"}


def test_stem_folds_inflections_alike() -> None:
    assert {stem(w) for w in ("approve", "approved", "approves", "approving")} == {"approv"}
    assert stem("stopped") == stem("stop") and stem("cancelled") == stem("cancel")
    assert stem("cities") == stem("city")


def test_empty_and_punctuation_only_prompts_agree_with_each_other() -> None:
    assert near_miss("", "?!") is None


def test_a_one_word_synonym_swap_is_refused_too_unless_the_lists_know_the_pair() -> None:
    """The substitution rule's cost: "speak" / "talk" cannot be told from "senior" / "junior"
    without a model, so it is a miss; synonyms of one contrast class still agree."""
    assert near_miss("Can I speak to a human?", "Can I talk to a human?") == "substitution"
    assert near_miss("Approve the purchase order", "Authorize the purchase order") is None

"""Text cut to fit stays readable: at a word boundary, with an ellipsis, never mid-word."""

from __future__ import annotations

import hypothesis
from hypothesis import strategies as st

from nethealth.detection import results
from nethealth.probe import report, shorten

EVIDENCE = (
    "policy rule 'pref 100 ipproto 6 dport 8080 unreachable' (IPv4) refuses matching traffic;"
    " a TCP flow-key lookup of 203.0.113.10 fails with ENETUNREACH while a plain lookup says"
    " unicast; 16 connects failed with ENETUNREACH; OutNoRoutes rose by 16 in the namespace"
)


def test_a_long_text_is_cut_after_a_whole_word_with_an_ellipsis() -> None:
    cut = shorten.chars(EVIDENCE, limit=200)
    assert len(cut) <= 200
    assert cut.endswith("…")
    kept = cut[:-1]
    assert EVIDENCE.startswith(kept)
    assert EVIDENCE[len(kept)] in " ;,"  # the next character ends a word
    assert not kept.endswith((" ", ";", ","))


def test_the_status_hint_never_ends_in_half_a_word() -> None:
    hint = {"code": "PolicyRuleUnreachable", "evidence": EVIDENCE * 2, "advice": ""}
    doc = {"schema": report.SCHEMA, "class": "PodNamespace", "reason": "r", "hints": [hint]}
    doc["namespaces"] = {"target": {"attempts": 60, "failures": 30}}
    outcome = results.parse_document(key="apps/a", text=report.dumps(doc))
    assert outcome.hint is not None
    assert len(outcome.hint) <= results.HINT_CHARS
    assert outcome.hint.endswith("…")
    words = outcome.hint[:-1].split()
    assert all(w in (f"PolicyRuleUnreachable: {EVIDENCE * 2}").split() for w in words)


def test_one_long_word_is_cut_inside_rather_than_dropped() -> None:
    path = "/proc/12345/root/" + "x" * 300
    cut = shorten.chars(f"cannot read {path}", limit=100)
    assert len(cut) == 100
    assert cut.startswith("cannot read /proc/12345/root/xxx")


def test_short_text_is_left_alone() -> None:
    assert shorten.chars("fine", limit=4) == "fine"
    assert shorten.utf8("fine", limit=4) == "fine"


@hypothesis.given(st.text(), st.integers(min_value=1, max_value=300))
def test_a_cut_always_fits_and_starts_like_the_text(text: str, limit: int) -> None:
    cut = shorten.chars(text, limit=limit)
    assert len(cut) <= limit
    assert text.startswith(cut) or (cut.endswith("…") and text.startswith(cut[:-1]))
    in_bytes = shorten.utf8(text, limit=limit)
    assert len(in_bytes.encode()) <= limit
    assert text.startswith(in_bytes) or (in_bytes.endswith("…") and text.startswith(in_bytes[:-1]))

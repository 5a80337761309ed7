import numpy as np

from knowledge.lexical import BM25Index, tokenize


def test_tokenizer_keeps_compounds_and_their_parts():
    terms = tokenize("posthog-js throws ERR_BLOCKED_BY_CLIENT on posthog.capture('$pageview')")
    for term in ("posthog-js", "posthog", "js", "err_blocked_by_client", "blocked", "client",
                 "posthog.capture", "capture", "$pageview", "pageview"):
        assert term in terms, term
    assert "on" not in terms  # stopword


def test_tokenizer_trims_punctuation_and_plurals():
    assert tokenize("Recordings, flags.") == ["recording", "flag"]
    assert tokenize("capture()") == ["capture"]
    assert tokenize("v1.2.3") == ["v1.2.3", "v1", "2", "3"]


def test_bm25_scores_are_normalized_and_rank_rare_terms():
    index = BM25Index([
        "posthog-js is the web SDK",
        "call capture() to send a $pageview event",
        "requests fail with ERR_BLOCKED_BY_CLIENT behind an ad blocker",
        "the web dashboard shows visitors",
    ])
    for query, expected in (("ERR_BLOCKED_BY_CLIENT", 2), ("posthog-js", 0),
                            ("$pageview", 1), ("capture()", 1)):
        scores = index.scores(query)
        assert int(np.argmax(scores)) == expected, query
        assert 0.0 <= scores.min() and scores.max() <= 1.0
    assert index.scores("zebra").max() == 0.0
    assert index.scores("").max() == 0.0


def test_bm25_on_no_documents():
    assert BM25Index([]).scores("anything").shape == (0,)

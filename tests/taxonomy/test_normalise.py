"""Normalisation of free text to wheel words, label spaces and valence/arousal."""

from __future__ import annotations

import pytest

from mmemo.taxonomy import (
    BUILTIN_WHEELS,
    expand_compound,
    family,
    is_negated,
    label_sentiment,
    label_space,
    label_spaces,
    load_wheels,
    normalise_label,
    valence_arousal,
    vocabulary,
)
from mmemo.taxonomy.lexicon import get_lexicon

CORPORA = [
    "ravdess", "ckplus", "fer2013", "affectnet", "meld", "emorynlp", "iemocap", "iemocap4",
    "mafw", "dfew", "mer2023", "mer2024", "goemotions",
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("happiness", "happy"),
        ("happily", "happy"),
        ("Happy!", "happy"),
        ("  'HAPPY' ", "happy"),
        ("[happy]", "happy"),
        ("angrily", "angry"),
        ("anger", "angry"),
        ("saddened", "sad"),
        ("sadness", "sad"),
        ("frustration", "frustrated"),
        ("nervousness", "nervous"),
        ("feeling very sad", "sad"),
        ("a bit anxious", "anxious"),
        ("cheerfulness", "cheerful"),
        ("gloomily", "gloomy"),
        ("light hearted", "lighthearted"),
        ("self-conscious", "self-conscious"),
    ],
)
def test_morphology_and_cleaning(text, canonical):
    assert normalise_label(text) == canonical


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("on edge", "edgy"),
        ("fed up", "frustrated"),
        ("Fed-up", None),  # hyphenated variant is not listed: no guessing across words
        ("over the moon", "overjoyed"),
        ("worn out", "exhausted"),
        ("let down", "disappointed"),
        ("taken aback", "surprised"),
        ("feeling blue", "sad"),
    ],
)
def test_multiword_expressions(text, canonical):
    assert normalise_label(text) == canonical


@pytest.mark.parametrize(
    "text", ["not happy", "never angry", "isn't sad", "not at all excited", "without fear"]
)
def test_negation_returns_none(text):
    assert normalise_label(text) is None
    assert is_negated(text)
    assert load_wheels().map_all(text) == (None,) * 4


def test_unknown_and_not_negated():
    assert normalise_label("blorfish") is None
    assert not is_negated("blorfish")
    assert normalise_label("") is None
    assert normalise_label("happy sad") is None  # two emotions are not one label
    assert normalise_label("unhappy") == "unhappy"  # a lexical word, not a negation


def test_synonyms_share_family_and_cluster():
    ws = load_wheels()
    for a, b in [("furious", "angry"), ("glad", "happy"), ("terrified", "afraid"),
                 ("worried", "anxious"), ("thankful", "grateful")]:  # fmt: skip
        assert family(a) == family(b)
        assert ws.map_all(a) == ws.map_all(b), (a, b)


def test_label_space_nearest():
    rav = label_space("ravdess")
    assert normalise_label("furious", rav) == "angry"
    assert normalise_label("joyful", rav) == "happy"
    assert normalise_label("Happiness", rav) == "happy"
    assert normalise_label("worried", rav) == "fearful"
    assert normalise_label("disgusted", rav) == "disgust"
    assert normalise_label("relaxed", rav) == "calm"
    assert normalise_label("not happy", rav) is None
    assert normalise_label("blorfish", rav) is None
    ck = label_space("CK+")
    assert normalise_label("scornful", ck) == "contempt"
    assert normalise_label("astonished", ck) == "surprise"
    assert normalise_label("worried", label_space("mer2023")) == "worried"
    assert normalise_label("nervous", label_space("mer2023")) == "worried"


def test_coverage_at_least_500_words():
    words = vocabulary()
    assert len(words) == len(set(words)) >= 500
    lex = get_lexicon()
    assert len(lex.surface) >= 1000
    ws = load_wheels()
    unmapped = [w for w in words if family(w) != "neutral" and None in ws.map_all(w)]
    assert unmapped == []


@pytest.mark.parametrize("corpus", CORPORA)
def test_every_corpus_label_maps(corpus):
    strict = load_wheels(neutral="cluster")
    for lab in label_space(corpus):
        assert normalise_label(lab) is not None, (corpus, lab)
        assert None not in strict.map_all(lab), (corpus, lab)
        assert None not in strict.map_all(lab, "level2"), (corpus, lab)
        assert normalise_label(lab, label_space(corpus)) == lab


def test_label_spaces_listing_and_compounds():
    assert set(CORPORA) <= set(label_spaces())
    assert len(label_space("goemotions")) == 28
    assert len(label_space("mafw")) == 11
    with pytest.raises(KeyError, match="unknown label space"):
        label_space("nope")
    assert expand_compound("Anger_Disgust") == ["anger", "disgust"]
    parts = expand_compound("sadness+helplessness")
    assert all(p in label_space("mafw") for p in parts)


def test_valence_arousal():
    v, a = valence_arousal("happy")
    assert v > 0.5 and a > 0
    v, a = valence_arousal("furious")
    assert v < 0 and a > 0.5
    v, a = valence_arousal("calm")
    assert v > 0 and a < 0
    assert valence_arousal("bored")[1] < 0
    assert valence_arousal("not happy") is None
    assert valence_arousal("blorfish") is None
    lex = get_lexicon()
    assert all(-1 <= x <= 1 for va in lex.va.values() for x in va)


def test_label_sentiment():
    assert label_sentiment(["happy", "relieved"]) == 1
    assert label_sentiment(["furious", "sad"]) == -1
    assert label_sentiment(["neutral"]) == 0
    assert label_sentiment(["happy", "sad"]) == 0  # 0.8 and -0.7 average below the threshold
    assert label_sentiment(["not happy", "blorf"]) == 0
    assert label_sentiment([]) == 0


def test_every_family_reaches_every_wheel():
    lex = get_lexicon()
    ws = load_wheels()
    assert ws.names == list(BUILTIN_WHEELS)
    for fam in lex.anchors:
        if fam == "neutral":
            continue
        member = lex.family_members(fam)[0]
        assert None not in ws.map_all(member), fam


@pytest.mark.data
def test_real_corpus_labels_map(shared_data):
    import csv

    found: dict[str, set[str]] = {
        "ckplus": {p.name for p in (shared_data / "ckplus48").iterdir() if p.is_dir()},
        "fer2013": {p.name for p in (shared_data / "fer2013" / "train").iterdir() if p.is_dir()},
    }
    with (shared_data / "meld" / "dev_sent_emo.csv").open(encoding="utf-8") as fh:
        found["meld"] = {row["Emotion"].strip() for row in csv.DictReader(fh)}
    codes = {p.name.split("-")[2] for p in (shared_data / "ravdess").rglob("*.flac")}
    rav = label_space("ravdess")
    found["ravdess"] = {rav[int(c) - 1] for c in codes}
    strict = load_wheels(neutral="cluster")
    for corpus, labels in found.items():
        assert labels, corpus
        space = label_space(corpus)
        for lab in labels:
            assert normalise_label(lab, space) == lab.lower(), (corpus, lab)
            assert None not in strict.map_all(lab), (corpus, lab)

"""Words over text tokens, and word occlusion: the text map that points at the evidence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmstudio.analysis import Analyzer
from mmstudio.explain.occlusion import word_occlusion
from mmstudio.explain.words import kept_tokens, word_spans, words_of
from mmstudio.inputs.sample import Sample
from mmstudio.models.registry import get_entry, get_model
from tests.conftest import require_or_skip
from tests.core.helpers import random_sample, tiny_model


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("i think it is a seven", ["i", "think", "it", "is", "a", "seven"]),
        ("cero, creo", ["cero", "creo"]),
        ("я думаю, это девять", ["я", "думаю", "это", "девять"]),
        ("我猜是五", ["我", "猜", "是", "五"]),
        ("8かな", ["8", "か", "な"]),
        ("12 apples!", ["12", "apples"]),
        ("fünf", ["fünf"]),
        ("e\u0301te\u0301", ["e\u0301te\u0301"]),  # combining accents stay in their word
        (" , ", []),
    ],
)
def test_words_follow_the_script(text, words):
    tokens = list(text)
    assert words_of(tokens, word_spans(tokens)) == words


def test_deleting_a_word_takes_its_space_with_it():
    tokens = list("the answer must be nine")
    spans = word_spans(tokens)
    assert "".join(tokens[i] for i in kept_tokens(tokens, spans, {4})) == "the answer must be"
    assert "".join(tokens[i] for i in kept_tokens(tokens, spans, {0})) == "answer must be nine"
    assert "".join(tokens[i] for i in kept_tokens(tokens, spans, {1, 2})) == "the be nine"


# The cut texts either ride along in the batch's own text-encoder call (what the Analyzer
# asks for) or are encoded afterwards (a caller holding a plain encoding); same weights.
@pytest.mark.parametrize("with_the_batch", [True, False])
def test_word_occlusion_is_the_drop_of_the_text_alone_score_per_word(with_the_batch):
    model = tiny_model("attention")
    sample = random_sample(0)
    batch = model.preprocess([sample])
    with torch.no_grad():
        encoded = model.encode(batch, text_occlusion=with_the_batch)
        assert (encoded.text_variants is not None) == with_the_batch
        predicted = model.fuse(encoded, batch.present.unsqueeze(1)).logits[:, 0].argmax(-1)
    weights = word_occlusion(model, batch, encoded, predicted)[0]
    tokens = batch.tokens[0]
    spans = word_spans(tokens)

    def text_alone_score(text: str) -> float:
        alone = Sample(text=text) if text else None
        if alone is None:
            logits = model.fuse(encoded, torch.zeros(1, 1, 3, dtype=torch.bool)).logits
        else:
            inner = model.preprocess([alone])
            logits = model.fuse(model.encode(inner), inner.present.unsqueeze(1)).logits
        return float(torch.log_softmax(logits[0, 0], -1)[predicted[0]])

    with torch.no_grad():
        full = text_alone_score(sample.text)
        for word, (a, b) in enumerate(spans):
            cut = "".join(tokens[i] for i in kept_tokens(tokens, spans, {word}))
            expected = full - text_alone_score(cut)  # signed: evidence against stays negative
            assert np.allclose(weights[a:b], expected, atol=1e-5), words_of(tokens, spans)[word]
    in_no_word = np.ones(len(tokens), bool)
    for a, b in spans:
        in_no_word[a:b] = False
    assert np.all(weights[in_no_word] == 0)


@pytest.mark.parametrize("fusion", ["attention", "concat"])
def test_the_analyzer_maps_text_by_word_occlusion_for_every_strategy(fusion):
    analysis = Analyzer(tiny_model(fusion), "cpu").analyze(random_sample(1))
    assert analysis.text_heatmap_method == "word occlusion"
    assert analysis.heatmap_method != "word occlusion"
    assert len(analysis.token_weights) == len(analysis.tokens)


def test_the_native_text_map_can_still_be_chosen():
    model = tiny_model("attention")
    model.text_map = "native"
    analysis = Analyzer(model, "cpu").analyze(random_sample(1))
    assert analysis.text_heatmap_method == "fusion attention"


def test_on_the_shipped_model_the_number_word_carries_the_text_map():
    require_or_skip(get_entry("digits").available, "the shipped digits weights are missing")
    analysis = Analyzer(get_model("digits"), "cpu").analyze(Sample(text="I think it is a seven"))
    weights = analysis.token_weights
    seven = slice(len("i think it is a "), None)
    assert weights[seven].sum() / weights.sum() > 0.9

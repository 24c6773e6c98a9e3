"""Word occlusion: how much the prediction loses when one word of the text is deleted.

The fusion query's attention over the text tokens does not track the evidence on the shipped
model (the number word of a digits phrase gets less than its uniform share): attention says
where the head read from, and the text encoder has already mixed every character into every
other. Deleting a word and measuring the drop in the predicted label's log-probability asks
the model itself. It is measured with the text alone (the other modalities absent, as the
Shapley coalitions do), so strong image or audio evidence does not saturate the score and
hide what the text says. The other encoders' outputs are reused, so one text-encoder and
fusion pass over all the variants, batched, is the whole cost.
"""

from __future__ import annotations

import numpy as np
import torch

from mmstudio.explain.words import kept_tokens, spread_to_tokens, word_spans

METHOD = "word occlusion"


def text_alone(modalities: tuple[str, ...], count: int, device) -> torch.Tensor:
    """(count, 1, M): coalitions with only the text taking part."""
    presence = torch.zeros(count, 1, len(modalities), dtype=torch.bool, device=device)
    presence[..., modalities.index("text")] = True
    return presence


@torch.no_grad()
def word_occlusion(model, batch, encoded, predicted: torch.Tensor) -> list[np.ndarray | None]:
    """Per sample, one weight per token: every token of a word carries the drop in
    log p(predicted | text alone) when that word is deleted, clipped at 0 (a word that
    argues against the prediction is not evidence for it); None for a sample without text.

    ``model.text_variants(batch, encoded, rows, kept, alone=True)`` must return encodings of
    the samples ``rows`` (with repeats), the text of the i-th cut down to the token indices
    ``kept[i]``, to be fused with the text alone.
    All the samples' variants run in one call.
    """
    modalities = tuple(model.modalities)
    text_index = modalities.index("text")
    rows, kept, spans_of = [], [], {}
    for row, tokens in enumerate(batch.tokens):
        spans = word_spans(tokens)
        if not bool(batch.present[row, text_index]) or not spans:
            continue
        spans_of[row] = spans
        variants = [list(range(len(tokens)))]
        variants += [kept_tokens(tokens, spans, {word}) for word in range(len(spans))]
        rows += [row] * len(variants)
        kept += variants
    result: list[np.ndarray | None] = [None] * len(batch.tokens)
    if not rows:
        return result
    device = predicted.device
    presence = text_alone(modalities, len(kept), device)
    presence[:, 0, text_index] = torch.tensor([bool(k) for k in kept], device=device)
    variants = model.text_variants(batch, encoded, rows, kept, alone=True)
    logits = model.fuse(variants, presence).logits
    log_probs = torch.log_softmax(logits[:, 0].float(), -1)
    scores = log_probs.gather(1, predicted[torch.tensor(rows, device=device)][:, None])[:, 0]
    start = 0
    for row, spans in spans_of.items():
        full, without = scores[start], scores[start + 1 : start + 1 + len(spans)]
        start += 1 + len(spans)
        drops = (full - without).clamp_min(0).cpu().numpy()
        result[row] = spread_to_tokens(drops, spans, len(batch.tokens[row]))
    return result

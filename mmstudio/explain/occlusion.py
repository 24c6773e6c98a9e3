"""Word occlusion: how much the prediction loses when one word of the text is deleted.

The fusion query's attention over the text tokens does not track the evidence on the shipped
model (the number word of a digits phrase gets less than its uniform share): attention says
where the head read from, and the text encoder has already mixed every character into every
other. Deleting a word and measuring the drop in the predicted label's log-probability asks
the model itself. It is measured with the text alone (the other modalities absent, as the
Shapley coalitions do), so strong image or audio evidence does not saturate the score and
hide what the text says. The other encoders' outputs are reused, and FusionNet encodes the
cut texts in the same text-encoder call as the batch's own (a small encoder's cost on a CPU
is mostly per call), so one fusion pass over all the variants is the rest of the cost.
"""

from __future__ import annotations

import numpy as np
import torch

from mmstudio.explain.words import kept_tokens, spread_to_tokens, word_spans
from mmstudio.model_outputs import ModalityEncoding

METHOD = "word occlusion"


def text_alone(modalities: tuple[str, ...], count: int, device) -> torch.Tensor:
    """(count, 1, M): coalitions with only the text taking part."""
    presence = torch.zeros(count, 1, len(modalities), dtype=torch.bool, device=device)
    presence[..., modalities.index("text")] = True
    return presence


def occlusion_variants(batch, text_index: int) -> tuple[list[int], list[list[int]]]:
    """The texts word occlusion scores besides the whole ones: every sample with words,
    its text without each word in turn. Returns (sample row, kept token indices) pairs as
    two lists, a sample's in the order of its words."""
    rows, kept = [], []
    for row, tokens in enumerate(batch.tokens):
        spans = word_spans(tokens)
        if not bool(batch.present[row, text_index]) or not spans:
            continue
        rows += [row] * len(spans)
        kept += [kept_tokens(tokens, spans, {word}) for word in range(len(spans))]
    return rows, kept


@torch.no_grad()
def word_occlusion(model, batch, encoded, predicted: torch.Tensor) -> list[np.ndarray | None]:
    """Per sample, one weight per token: every token of a word carries the drop in
    log p(predicted | text alone) when that word is deleted, signed: a word whose deletion
    raises the prediction's score argues against it and gets a negative weight (evidence
    against is kept, not clipped away); None for a sample without text.

    The cut texts come from ``encoded.text_variants`` when the model encoded them with the
    batch (FusionNet does, when asked for explanations); otherwise
    ``model.text_variants(batch, encoded, rows, kept, alone=True)`` must return encodings of
    the samples ``rows`` (with repeats), the text of the i-th cut down to the token indices
    ``kept[i]``, to be fused with the text alone. The whole texts reuse the batch's own
    encoding, and every variant of every sample is fused in one call.
    """
    modalities = tuple(model.modalities)
    text_index = modalities.index("text")
    result: list[np.ndarray | None] = [None] * len(batch.tokens)
    ready = getattr(encoded, "text_variants", None)
    rows, kept = (ready.rows, ready.kept) if ready else occlusion_variants(batch, text_index)
    if not rows:
        return result
    cut = (
        ready.encoding
        if ready
        else model.text_variants(batch, encoded, rows, kept, alone=True).modalities["text"]
    )
    whole_rows = sorted(set(rows))
    whole = encoded.modalities["text"]
    texts = ModalityEncoding(
        torch.cat([whole.tokens[whole_rows], cut.tokens]),
        torch.cat([whole.mask[whole_rows], cut.mask]),
        torch.cat([whole.pooled[whole_rows], cut.pooled]),
        whole.grid,
    )
    every_row = whole_rows + rows
    variants = model.encode_variants(encoded, every_row, text=texts, alone=True)
    device = predicted.device
    presence = text_alone(modalities, len(every_row), device)
    presence[len(whole_rows) :, 0, text_index] = torch.tensor(
        [bool(k) for k in kept], device=device
    )
    logits = model.fuse(variants, presence).logits
    log_probs = torch.log_softmax(logits[:, 0].float(), -1)
    targets = predicted[torch.tensor(every_row, device=device)]
    scores = log_probs.gather(1, targets[:, None])[:, 0]
    full_scores, cut_scores = scores[: len(whole_rows)], scores[len(whole_rows) :]
    start = 0
    for full, row in zip(full_scores, whole_rows, strict=True):
        spans = word_spans(batch.tokens[row])
        without = cut_scores[start : start + len(spans)]
        start += len(spans)
        drops = (full - without).cpu().numpy()
        result[row] = spread_to_tokens(drops, spans, len(batch.tokens[row]))
    return result

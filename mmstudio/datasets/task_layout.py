"""Which row layout and which unit of work a dataset analysis takes, from the model's task: a
classifier's batches and columns, or a generative model's answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from mmstudio.analysis import Analyzer
from mmstudio.datasets.answers_batch import AnswerBatchAnalyzer
from mmstudio.datasets.batch import BatchAnalyzer
from mmstudio.datasets.compare import compare_layout
from mmstudio.datasets.generation_schema import GenerationLayout
from mmstudio.datasets.results_metadata import model_fingerprint
from mmstudio.datasets.schema import RowLayout, infer_meta_types
from mmstudio.inputs.errors import InputError
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.result import CLASSIFICATION, GENERATION
from mmstudio.training.manifest import Record


def layout_for(
    analyzer,
    records: Sequence[Record],
    compare=None,
    *,
    generation=None,
    coalition_answers: bool = False,
):
    """The row layout of ``analyzer``'s model over ``records``, with the columns of the
    Analyzer ``compare`` beside them if one is given (refused if its labels differ). A
    generative model gets the answer's layout (``generation_schema``), decoding with
    ``generation`` (GenerationOptions, default greedy) and, with ``coalition_answers``,
    generating under every coalition too."""
    if getattr(analyzer, "generates", False):
        return _generation_layout(analyzer, records, compare, generation, coalition_answers)
    if coalition_answers:
        raise InputError(
            f"--coalition-answers is for generative models; '{analyzer.model_name}' is a "
            "classifier (its rows hold every coalition's prediction already)"
        )
    model = analyzer.model
    return RowLayout(
        labels=tuple(model.labels),
        modalities=tuple(analyzer.modalities),
        meta_types=infer_meta_types(records),
        model=analyzer.model_name,
        model_fingerprint=model_fingerprint(model),
        fusion_weights_kind=getattr(model, "fusion_weights_kind", ""),
        compare=None if compare is None else compare_layout(analyzer, compare),
    )


def _generation_layout(analyzer, records, compare, generation, coalition_answers):
    if compare is not None:
        raise InputError(
            f"--compare is for classifiers for now; '{analyzer.model_name}' is a generative model"
        )
    # A row has no room for contrastive answers: generating them would be wasted work.
    options = replace(generation or GenerationOptions(), contrastive=False)
    return GenerationLayout(
        modalities=tuple(analyzer.modalities),
        meta_types=infer_meta_types(records),
        model=analyzer.model_name,
        model_fingerprint=model_fingerprint(analyzer.model),
        options=tuple(sorted(options.to_dict().items())),
        coalition_answers=coalition_answers,
    )


def batch_analyzer_for(analyzer: Analyzer, layout, second: Analyzer | None = None):
    """The unit of work for ``layout``'s task: a classifier's batches, or a generative
    model's answers (:mod:`mmstudio.datasets.answers_batch`)."""
    if getattr(layout, "task", CLASSIFICATION) == GENERATION:
        return AnswerBatchAnalyzer(analyzer, layout)
    return BatchAnalyzer(analyzer, layout, second)

"""A generative model's answer, explained token by token across the modalities.

The answer is generated once (streamed, stoppable between tokens) and then teacher-forced under
every coalition of the modalities the sample has, in batched calls: each token's
log-probability under each coalition is the value function, so each token, and the answer as a
whole (the sum over its tokens), gets exact Shapley values and interactions from the same
explain code the classifier's modalities use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np

from mmstudio.analysis.efficiency import efficiency_note
from mmstudio.explain.interactions import interaction_matrices, named_interactions
from mmstudio.explain.shapley import coalition_masks, shapley_matrix, shapley_values
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.result.generation import GenerationAnalysis

_EMPTY_SAMPLE = "nothing to ask: give an image, a text or an audio clip (or switch one on)"
_NOT_TAKEN = "the model '{model}' takes no {modality}; the {modality} was left out"


class AnswerAnalyzer:
    """Generates and explains answers of one generative model (``protocol.AnswerModel``)."""

    def __init__(self, model, *, explain: bool = True, maps=None):
        self.model = model
        self.explain = explain
        self.modalities: tuple[str, ...] = tuple(model.modalities)
        self._masks = coalition_masks(len(self.modalities))
        self._shapley = shapley_matrix(self._masks)
        self._interactions = interaction_matrices(self._masks)
        # Per-token maps (image, audio, prompt words): the model's ``answer_maps(sample, answer
        # ids, prompt tokens, methods)`` -> a dict of GenerationAnalysis fields, or None.
        self.maps = maps

    @property
    def model_name(self) -> str:
        return getattr(self.model, "name", type(self.model).__name__)

    def coalitions(self) -> list[list[str]]:
        """The K coalitions by name, in the order of ``coalition_masks``."""
        return [
            [m for m, keep in zip(self.modalities, row, strict=True) if keep]
            for row in self._masks.tolist()
        ]

    def analyze(
        self,
        sample: Sample,
        options,
        *,
        on_token: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        maps: bool = True,
        explain: bool | None = None,
    ) -> GenerationAnalysis:
        """``explain`` overrides this analyzer's for one answer; ``maps=False`` leaves out the
        per-token maps (a dataset's rows need the Shapley values only)."""
        sample, notes = self._taken(sample)
        watch = time.perf_counter()
        answer = self.model.generate(sample, options, on_token=on_token, should_stop=should_stop)
        generated_ms = (time.perf_counter() - watch) * 1000.0
        ids = list(answer.token_ids)
        analysis = GenerationAnalysis(
            modalities=list(self.modalities),
            present=[m for m in self.modalities if m in sample.present],
            model_name=self.model_name,
            notes=notes,
            prompt=sample.text or "",
            answer=self.model.decode(ids),
            answer_tokens=self.model.token_texts(ids),
            answer_token_ids=ids,
            finished=answer.finished,
            coalitions=self.coalitions(),
            generation=options.to_dict(),
        )
        analysis.timings_ms["generate"] = generated_ms
        if answer.first_token_seconds is not None:
            analysis.timings_ms["first_token"] = answer.first_token_seconds * 1000.0
        if answer.finished == "stopped":
            analysis.notes.append(
                f"stopped after {len(ids)} token{'s' * (len(ids) != 1)}: the answer is "
                "not explained"
            )
        elif self.explain if explain is None else explain:
            self._explain(
                analysis, sample, ids, answer.prompt_tokens, options, should_stop, maps=maps
            )
        analysis.timings_ms["total"] = (time.perf_counter() - watch) * 1000.0
        return analysis

    def _taken(self, sample: Sample) -> tuple[Sample, list[str]]:
        """The sample restricted to the model's modalities, with a note for each one left out."""
        dropped = [m for m in sample.present if m not in self.modalities]
        notes = list(sample.notes)
        notes += [_NOT_TAKEN.format(model=self.model_name, modality=m) for m in dropped]
        if dropped:
            sample = sample.without(*dropped)
        if not sample.present:
            raise InputError(_EMPTY_SAMPLE)
        notes += getattr(self.model, "input_notes", lambda _sample: [])(sample)
        return sample, notes

    def _explain(
        self, analysis, sample, ids, prompt_tokens, options, should_stop, *, maps: bool = True
    ) -> None:
        watch = time.perf_counter()
        values = self.coalition_logprobs(sample, ids, prompt_tokens)  # (K, T)
        analysis.timings_ms["coalitions"] = (time.perf_counter() - watch) * 1000.0
        analysis.token_coalition_logprobs = values
        present = analysis.present
        phi_tokens = shapley_values(values.T, self._shapley)  # (T, M)
        answer_values = values.sum(1)  # (K,): log-probability of the whole answer
        phi_answer = shapley_values(answer_values[None], self._shapley)[0]
        # Absent modalities are dummy players: exactly 0, not the matrix product's 1e-17.
        absent = [i for i, m in enumerate(self.modalities) if m not in present]
        phi_tokens[:, absent] = 0.0
        phi_answer[absent] = 0.0
        analysis.token_shapley = phi_tokens
        analysis.answer_shapley = phi_answer
        analysis.token_interactions = [
            named_interactions(values[:, t], self._interactions, self.modalities, present)
            for t in range(values.shape[1])
        ]
        analysis.answer_interactions = named_interactions(
            answer_values, self._interactions, self.modalities, present
        )
        gap = efficiency_note(phi_answer, answer_values, list(self.modalities), present)
        if gap:
            analysis.notes.append(gap)
        if not ids:
            analysis.notes.append("the model's answer is empty: there is no token to explain")
        if self.maps is not None and ids and maps:
            watch = time.perf_counter()
            forced = getattr(options, "map_method", "")
            methods = dict.fromkeys(self.modalities, forced) if forced else None
            for name, value in self.maps(sample, ids, prompt_tokens, methods).items():
                if name == "notes":
                    analysis.notes.extend(value)
                else:
                    setattr(analysis, name, value)
            analysis.timings_ms["maps"] = (time.perf_counter() - watch) * 1000.0
        if options.contrastive:
            watch = time.perf_counter()
            analysis.contrastive_answers = self._contrastive(sample, options, should_stop)
            analysis.timings_ms["contrastive"] = (time.perf_counter() - watch) * 1000.0

    def coalition_logprobs(
        self, sample: Sample, answer_ids: Sequence[int], prompt_tokens: int | None = None
    ) -> np.ndarray:
        """(K, T) each answer token's log-probability under every coalition. A coalition naming
        modalities the sample lacks is the same prompt as the one without them, so only the
        distinct prompts are run (one batched call where memory allows) and copied out."""
        coalitions = [tuple(m for m in c if m in sample.present) for c in self.coalitions()]
        distinct = list(dict.fromkeys(coalitions))
        if not answer_ids:
            return np.zeros((len(coalitions), 0), dtype=np.float64)
        computed = self.model.answer_logprobs(
            [sample] * len(distinct), distinct, answer_ids, prompt_tokens=prompt_tokens
        )
        row_of = {coalition: row for row, coalition in enumerate(distinct)}
        return np.stack([computed[row_of[c]] for c in coalitions]).astype(np.float64)

    def coalition_answers(
        self,
        sample: Sample,
        options,
        *,
        full: str | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[str]:
        """The answer generated under each of the K coalitions, in the order of
        :meth:`coalitions`: 2^M - 1 generations more than the answer (``full``, when given, is
        taken as the full coalition's). A coalition naming modalities the sample lacks is the
        same prompt as the one without them, so each distinct prompt is generated once."""
        sample, _ = self._taken(sample)
        coalitions = [tuple(m for m in c if m in sample.present) for c in self.coalitions()]
        answers: dict[tuple[str, ...], str] = {}
        if full is not None:
            answers[tuple(m for m in self.modalities if m in sample.present)] = full
        for coalition in dict.fromkeys(coalitions):
            if coalition not in answers:
                answer = self.model.generate(
                    sample, options, should_stop=should_stop, coalition=coalition
                )
                answers[coalition] = self.model.decode(answer.token_ids)
        return [answers[c] for c in coalitions]

    def _contrastive(self, sample, options, should_stop) -> dict[str, str]:
        """The answer without each present modality, when at least two are present."""
        if len(sample.present) < 2:
            return {}
        answers = {}
        for left_out in sample.present:
            kept = [m for m in sample.present if m != left_out]
            answer = self.model.generate(sample, options, should_stop=should_stop, coalition=kept)
            answers[left_out] = self.model.decode(answer.token_ids)
        return answers

"""The Analyzer: Sample -> Analysis. Classifiers are explained here; a generative model's
answers in answers.py, which the Analyzer hands them to."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from mmstudio import MODALITIES
from mmstudio.analysis.answers import AnswerAnalyzer
from mmstudio.analysis.efficiency import efficiency_note
from mmstudio.explain.conflict import modality_conflict, single_rows
from mmstudio.explain.interactions import interaction_matrices, named_interactions
from mmstudio.explain.shapley import coalition_masks, shapley_matrix, shapley_values
from mmstudio.inputs.errors import InputError
from mmstudio.inputs.sample import Sample
from mmstudio.model_outputs import FusionOutput
from mmstudio.models.device import describe_device, pick_device
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.models.protocol import GENERATION, WholeFusionModel, contract_problem, model_task
from mmstudio.numerics.compute_dtype import ComputeDtype, dtype_name, parameter_dtype
from mmstudio.numerics.non_finite import broken_parameter, diagnose
from mmstudio.result import Analysis, AnyAnalysis, GenerationAnalysis

# A NaN probability must never reach the window or the JSON as if it were a prediction; the
# message says which of the input, the weights or the arithmetic made it (numerics.non_finite).
_NON_FINITE = "the model '{model}' produced infinite or NaN scores for this input: {why}"
_BROKEN_WEIGHTS = "the model '{model}' cannot be used: its weights are not finite ({which})"
# What the probe at load runs when no analysis has run yet, in this order: the first sample
# the model accepts tells the dtype it computes in.
_PROBES = ("text", "image", "audio")
_EMPTY_SAMPLE = "nothing to analyse: give an image, a text or an audio clip (or switch one on)"
_NOT_A_MODEL = "the model '{model}' cannot be explained: {why} (see docs/plugins.md)"


class _Stopwatch:
    def __init__(self, device: torch.device):
        self.device = device
        self.marks: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        now = time.perf_counter()
        self.marks[name] = (now - self._last) * 1000.0
        self._last = now


class Analyzer:
    """Runs a fusion model and explains each prediction.

    For every sample: probabilities, the model's own modality weights, exact Shapley
    values of the modalities (value function: the predicted class's log-probability),
    and heatmaps over the image, text tokens and spectrogram.
    """

    def __init__(self, model, device: str | torch.device | None = None, *, explain: bool = True):
        problem = contract_problem(model)
        if problem:
            name = getattr(model, "name", type(model).__name__)
            raise InputError(_NOT_A_MODEL.format(model=name, why=problem))
        self.task = model_task(model)
        # A model offering both ways to run is taken whole, as it asks to be run on samples.
        self._whole = isinstance(model, WholeFusionModel)
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.model = model.to(self.device).eval()
        # A generator's answers are explained by their own analyzer; this one dispatches.
        self._answers = (
            AnswerAnalyzer(self.model, explain=explain, maps=getattr(model, "answer_maps", None))
            if self.task == GENERATION
            else None
        )
        self.explain = explain
        self.modalities: tuple[str, ...] = tuple(getattr(model, "modalities", MODALITIES))
        self._masks = coalition_masks(len(self.modalities))
        self._shapley = shapley_matrix(self._masks)
        self._interactions = interaction_matrices(self._masks)
        self._single_rows = single_rows(self._masks)
        self.device_name = describe_device(self.device)
        # Once, at load: weights that are NaN or infinite make every analysis meaningless.
        module = getattr(self.model, "hf_model", self.model)
        broken = broken_parameter(module) if isinstance(module, torch.nn.Module) else None
        if broken is not None:
            raise InputError(_BROKEN_WEIGHTS.format(model=self.model_name, which=broken))
        self.parameter_dtype = parameter_dtype(module)
        # The dtype the last analysis computed in ("" before the first): autocast counts.
        self.compute_dtype = ""

    @property
    def model_name(self) -> str:
        return getattr(self.model, "name", type(self.model).__name__)

    @property
    def explain(self) -> bool:
        return self._explain

    @explain.setter
    def explain(self, on: bool) -> None:
        self._explain = on
        if self._answers is not None:
            self._answers.explain = on

    @property
    def generates(self) -> bool:
        return self._answers is not None

    def analyze(self, sample: Sample) -> AnyAnalysis:
        return self.analyze_batch([sample])[0]

    def generate(
        self,
        sample: Sample,
        options: GenerationOptions | None = None,
        *,
        on_token: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        maps: bool = True,
        explain: bool | None = None,
    ) -> GenerationAnalysis:
        """A generative model's answer to ``sample``, each token passed to ``on_token`` as it is
        chosen, stopped between tokens once ``should_stop()`` says so, then explained (unless
        ``explain``, or this Analyzer's ``explain`` when None, is False; with per-token maps
        unless ``maps`` is False)."""
        if self._answers is None:
            raise InputError(f"the model '{self.model_name}' is a classifier: it does not generate")
        analysis = self._answers.analyze(
            sample,
            options or GenerationOptions(),
            on_token=on_token,
            should_stop=should_stop,
            maps=maps,
            explain=explain,
        )
        analysis.device = self.device_name
        analysis.compute_dtype = self.compute_dtype = self.parameter_dtype
        analysis.parameter_dtype = self.parameter_dtype
        return analysis

    def coalition_answers(
        self, sample: Sample, options: GenerationOptions | None = None, *, full: str | None = None
    ) -> list[str]:
        """A generative model's answer under each coalition of the modalities (the order of
        ``GenerationAnalysis.coalitions``); ``full``: the full coalition's, already generated."""
        if self._answers is None:
            raise InputError(f"the model '{self.model_name}' is a classifier: it does not generate")
        return self._answers.coalition_answers(sample, options or GenerationOptions(), full=full)

    def probe_compute_dtype(self) -> str:
        """The dtype the model computes in, from a real forward pass over a tiny sample (the
        last analysis's when one ran): what the status bar and doctor report."""
        if self.compute_dtype or self._answers is not None:
            # A generator computes in the dtype its weights were loaded in (no autocast).
            return self.compute_dtype or self.parameter_dtype
        explain, self.explain = self.explain, False
        try:
            for modality in _PROBES:
                try:
                    self.analyze_batch([_probe_sample(modality)])
                    return self.compute_dtype
                except InputError:
                    continue  # the model takes other modalities: try the next
        finally:
            self.explain = explain
        return self.compute_dtype or self.parameter_dtype

    def prepare(self, samples: Sequence[Sample]):
        """The model's CPU-side preprocessing of ``samples``, or None for models that take
        samples whole. It touches no model state, so a pipeline runs it in another thread
        and passes the result to :meth:`analyze_batch` as ``prepared``."""
        if self._whole or self._answers is not None:
            return None
        return self.model.preprocess(samples)

    @torch.no_grad()
    def analyze_batch(self, samples: Sequence[Sample], *, prepared=None) -> list[AnyAnalysis]:
        if not samples:
            return []
        if self._answers is not None:
            return [self.generate(sample) for sample in samples]
        if any(not s.present for s in samples):
            raise InputError(_EMPTY_SAMPLE)
        watch = _Stopwatch(self.device)
        dtypes = ComputeDtype()
        with dtypes.watching(self.model):
            if self._whole:
                batch = None
                logits, weights, heatmaps, seen, raw_dtype = self._run_whole(samples, watch)
                embeddings = None
            else:
                batch = (prepared if prepared is not None else self.model.preprocess(samples)).to(
                    self.device
                )
                watch.lap("preprocess")
                logits, weights, heatmaps, seen, embeddings, raw_dtype = self._run_split(
                    samples, watch, batch
                )
        # A model whose products no hook sees (functional code) still shows its logits' dtype.
        self.compute_dtype = dtypes.name or raw_dtype
        if not bool(torch.isfinite(logits).all()):
            raise InputError(
                _NON_FINITE.format(model=self.model_name, why=self._why_non_finite(samples, batch))
            )
        total = sum(watch.marks.values())
        analyses = [
            self._assemble(
                row, sample, logits[row], weights, heatmaps, seen[row], watch.marks, total
            )
            for row, sample in enumerate(samples)
        ]
        for analysis in analyses:
            analysis.compute_dtype = self.compute_dtype
            analysis.parameter_dtype = self.parameter_dtype
        if embeddings is not None:
            full_input = embeddings[:, -1].float().cpu().numpy()
            for analysis, embedding in zip(analyses, full_input, strict=True):
                analysis.embedding = embedding
        return analyses

    def _present_mask(self, samples: Sequence[Sample]) -> torch.Tensor:
        return torch.tensor(
            [[m in s.present for m in self.modalities] for s in samples], dtype=torch.bool
        )

    def _presence(self, samples: Sequence[Sample]) -> torch.Tensor:
        """(B, K, M): every coalition, ANDed with the modalities each sample has. A model
        that forgets to treat an absent modality as missing still sees it switched off, so
        the sample's absent modalities are dummy players and the values add up."""
        masks = self._masks.unsqueeze(0).expand(len(samples), -1, -1)
        return masks & self._present_mask(samples).unsqueeze(1)

    def _encode_options(self) -> dict:
        """Extra work a model can fold into its encoders' pass when heatmaps will follow
        (FusionNet encodes word occlusion's texts with the batch's)."""
        options = getattr(self.model, "explanation_encode_options", None)
        wants_heatmaps = self.explain and hasattr(self.model, "heatmaps")
        return options() if wants_heatmaps and options is not None else {}

    def _why_non_finite(self, samples, batch) -> str:
        """What made the scores non-finite: the input, or the arithmetic and where."""
        presence = self._presence(samples).to(self.device)
        if batch is None:

            def forward(model, _batch):
                return model.coalition_logits(samples, presence)
        else:

            def forward(model, batch):
                return model.fuse(model.encode(batch), presence)

        return diagnose(self.model, forward, batch, samples, self.compute_dtype or "float32")

    def _run_split(self, samples, watch, batch):
        encoded = self.model.encode(batch, **self._encode_options())
        watch.lap("encode")
        presence = self._presence(samples).to(self.device)
        output = self.model.fuse(encoded, presence)  # every coalition in one call
        watch.lap("fuse_and_coalitions")
        raw_dtype = dtype_name(output.logits.dtype)
        logits = output.logits.float()
        weights = output.modality_weights
        heatmaps = None
        if self.explain and hasattr(self.model, "heatmaps"):
            predicted = logits[:, -1].argmax(-1)
            full = _full_coalition(output)
            heatmaps = self.model.heatmaps(batch, encoded, full, predicted)
            watch.lap("heatmaps")
        seen = _what_the_model_saw(batch, encoded, samples)
        _add_fusion_attention(seen, output)
        return logits, weights, heatmaps, seen, getattr(output, "embedding", None), raw_dtype

    def _run_whole(self, samples, watch):
        raw = self.model.coalition_logits(samples, self._presence(samples).to(self.device))
        logits = raw.float()
        watch.lap("coalitions")
        seen = [{} for _ in samples]
        heatmaps = None
        if self.explain and hasattr(self.model, "heatmaps"):
            # A whole model has no batch or encodings of ours: it gets its samples back, and
            # the full coalition's logits as the output.
            full = FusionOutput(logits[:, -1:], None)
            heatmaps = self.model.heatmaps(samples, None, full, logits[:, -1].argmax(-1))
            watch.lap("heatmaps")
            if hasattr(self.model, "tokens_for"):
                for row, entry in enumerate(seen):
                    entry["tokens"] = list(self.model.tokens_for(samples, row))
        return logits, None, heatmaps, seen, dtype_name(raw.dtype)

    def _assemble(
        self, row, sample, coalition_logits, weights, heatmaps, seen, marks, total
    ) -> Analysis:
        log_probs = torch.log_softmax(coalition_logits, -1)  # (K, C)
        full = log_probs[-1]
        predicted = int(full.argmax())
        values = log_probs[:, predicted].double().cpu().numpy()
        coalition_predictions = log_probs.argmax(-1).tolist()
        phi = shapley_values(values[None], self._shapley)[0]
        present = [m for m in self.modalities if m in sample.present]
        shapley = {m: float(phi[i]) for i, m in enumerate(self.modalities) if m in present}
        alone = {
            m: log_probs[self._single_rows[i]].exp().double().cpu().numpy()
            for i, m in enumerate(self.modalities)
            if m in present
        }
        analysis = Analysis(
            labels=list(self.model.labels),
            probabilities=full.exp().float().cpu().numpy(),
            predicted_index=predicted,
            modalities=list(self.modalities),
            present=present,
            fusion_weights=_present_weights(weights, row, self.modalities, present),
            fusion_weights_kind=getattr(self.model, "fusion_weights_kind", ""),
            shapley=shapley,
            shapley_base=float(values[0]),
            full_score=float(values[-1]),
            coalition_values=values,
            coalition_predictions=coalition_predictions,
            timings_ms={**marks, "total": total},
            model_name=self.model_name,
            device=self.device_name,
            notes=seen.get("notes", list(sample.notes)),
            tokens=seen.get("tokens", []),
            spectrogram=seen.get("spectrogram"),
            spectrogram_hop_seconds=seen.get("hop_seconds"),
            interactions=named_interactions(values, self._interactions, self.modalities, present),
            alone_predictions={m: self.model.labels[int(p.argmax())] for m, p in alone.items()},
            conflict=modality_conflict(alone),
            fusion_attention=seen.get("fusion_attention"),
            fusion_attention_modalities=seen.get("fusion_attention_modalities", []),
        )
        gap = efficiency_note(phi, values, self.modalities, present)
        if gap:
            analysis.notes.append(gap)
        if heatmaps is not None:
            maps = heatmaps[row]
            analysis.image_heatmap = maps.image
            analysis.token_weights = maps.tokens
            analysis.audio_heatmap = maps.audio
            analysis.heatmap_method = maps.method
            analysis.text_heatmap_method = getattr(maps, "text_method", "") or (
                maps.method if maps.tokens is not None else ""
            )
            signed = set(getattr(maps, "signed", ()))
            present_maps = {"image": maps.image, "text": maps.tokens, "audio": maps.audio}
            analysis.signed_maps = [
                m for m, values in present_maps.items() if m in signed and values is not None
            ]
        return analysis


def _probe_sample(modality: str) -> Sample:
    """The smallest sample of one modality: a word, a grey image, half a second of quiet."""
    if modality == "text":
        return Sample(text="a")
    if modality == "image":
        from PIL import Image

        return Sample(image=Image.new("RGB", (32, 32), (128, 128, 128)))
    from mmstudio.inputs.sample import AudioClip

    return Sample(audio=AudioClip(np.full(8000, 1e-3, dtype=np.float32), 16000))


def _full_coalition(output):
    """The same output restricted to its last coalition (all modalities), K = 1."""
    attention = output.attention[:, -1:] if output.attention is not None else None
    weights = output.modality_weights[:, -1:] if output.modality_weights is not None else None
    return type(output)(output.logits[:, -1:], weights, attention, output.attention_spans)


def _add_fusion_attention(seen: list[dict], output) -> None:
    """Each sample's full-coalition attention over every token, and each token's modality.

    Every position the head was fed is kept, padding and absent slots included (at 0 or
    wherever the softmax put them), so positions line up with ``attention_spans``.
    """
    attention, spans = getattr(output, "attention", None), getattr(output, "attention_spans", None)
    if attention is None or not spans:
        return
    names = [""] * attention.shape[-1]
    for modality, (start, end) in spans.items():
        names[start:end] = [modality] * (end - start)
    full = attention[:, -1].float().cpu().numpy()
    for row, entry in enumerate(seen):
        entry["fusion_attention"] = full[row]
        entry["fusion_attention_modalities"] = list(names)


def _present_weights(weights, row, modalities, present) -> dict[str, float]:
    if weights is None or not present:
        return {}
    full = weights[row, -1].float().cpu().numpy()
    chosen = np.array([full[modalities.index(m)] for m in present], dtype=np.float64)
    total = chosen.sum()
    chosen = chosen / total if total > 0 else np.full(len(present), 1.0 / len(present))
    return {m: float(w) for m, w in zip(present, chosen, strict=True)}


def _what_the_model_saw(batch, encoded, samples: Sequence[Sample]) -> list[dict]:
    """Per sample: the model's text tokens, its log-mel spectrogram and preprocessing notes."""
    spectrogram = getattr(encoded, "spectrogram", None)
    frames = getattr(encoded, "spectrogram_frames", None)
    hop_seconds = getattr(batch, "hop_seconds", None)
    seen = []
    for row, sample in enumerate(samples):
        entry = {"notes": list(batch.notes[row]) if getattr(batch, "notes", None) else []}
        if getattr(batch, "tokens", None):
            entry["tokens"] = list(batch.tokens[row])
        if spectrogram is not None and "audio" in sample.present:
            entry["spectrogram"] = spectrogram[row, :, : int(frames[row])].float().cpu().numpy()
            entry["hop_seconds"] = hop_seconds
        seen.append(entry)
    return seen


def load_analyzer(
    spec: str | None,
    device: str | torch.device | None = None,
    *,
    explain: bool = True,
    labels: Sequence[str] | str | None = None,
    allow_download: bool = False,
) -> Analyzer:
    """Load a model by name or folder onto ``device`` (auto/cpu/cuda/mps) and wrap it in an
    Analyzer: the one loader the command line, the studio's analysis service and the
    benchmarks share, so a model loads the same way everywhere.

    ``labels`` replaces a zero-shot model's labels; ``allow_download`` lets the zero-shot
    backend fetch missing weights from the Hugging Face Hub (the command line's opt-in).
    """
    from mmstudio.models.registry import get_model

    target = pick_device(device)
    if allow_download:
        from mmstudio.models.zeroshot import is_clip_clap_source, load_clip_clap

        if is_clip_clap_source(spec or ""):
            model = load_clip_clap(spec, target, allow_download=True)
        else:
            model = get_model(spec, target)
    else:
        model = get_model(spec, target)
    if labels:
        if model_task(model) == GENERATION:
            raise InputError(
                f"--labels is for zero-shot classifiers such as clip-clap; "
                f"'{getattr(model, 'name', spec)}' is a generative model: it answers in words"
            )
        if not hasattr(model, "set_labels"):
            name = getattr(model, "name", type(model).__name__)
            raise InputError(
                f"the model '{name}' has fixed labels; --labels is for zero-shot models such as clip-clap"
            )
        model.set_labels(labels)
    return Analyzer(model, target, explain=explain)

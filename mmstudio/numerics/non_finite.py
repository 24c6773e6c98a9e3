"""Why a model's scores hold a NaN or an infinity: the input, the weights, or the arithmetic.

A NaN probability must never reach the window or the JSON as if it were a prediction, and the
message must say what happened, because the fixes differ: a broken input file, a broken
checkpoint, or weights that are finite but too large for the dtype the model computes in. The
diagnosis runs only once scores came out non-finite, so it costs nothing otherwise.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import torch

from mmstudio.inputs.sample import Sample
from mmstudio.models.validation import first_non_finite
from mmstudio.numerics.tensors import all_finite, float_tensors, largest_magnitude, what_is_wrong

# Where a Batch field's numbers come from, for the message.
_FIELD_MODALITY = {"images": "image", "waveforms": "audio", "text_ids": "text"}


def broken_parameter(model: torch.nn.Module) -> str | None:
    """Which parameter or buffer holds a NaN or an infinity, said in words, or None."""
    state = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    name = first_non_finite({k: v.detach() for k, v in state.items()})
    return None if name is None else f"'{name}' holds {what_is_wrong(state[name].detach())}"


def input_problem(samples: Sequence[Sample], batch=None) -> str | None:
    """What in the input is not finite: a sample's audio or image, or what preprocessing made
    of them (``batch``, the model's own tensors); None when every number is finite."""
    several = len(samples) > 1
    for row, sample in enumerate(samples):
        which = f" of sample {row + 1}" if several else ""
        if sample.audio is not None:
            values = np.asarray(sample.audio.samples)
            if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
                return f"the audio{which} holds {_numpy_wrong(values)} samples"
        if sample.image is not None and sample.image.mode in ("F", "I", "I;16"):
            values = np.asarray(sample.image, dtype=np.float64)
            if not np.isfinite(values).all():
                return f"the image{which} holds {_numpy_wrong(values)} pixels"
    if batch is not None and dataclasses.is_dataclass(batch):
        for field in dataclasses.fields(batch):
            for tensor in float_tensors(getattr(batch, field.name)):
                if not bool(torch.isfinite(tensor).all()):
                    source = _FIELD_MODALITY.get(field.name, field.name)
                    return (
                        f"the model's preprocessing turned the {source} into "
                        f"{what_is_wrong(tensor)} ('{field.name}')"
                    )
    return None


def diagnose(
    model: torch.nn.Module,
    run: Callable[[torch.nn.Module, object], object],
    batch,
    samples: Sequence[Sample],
    compute_dtype: str,
) -> str:
    """Why ``run(model, batch)`` (the Analyzer's forward pass) gave non-finite scores."""
    problem = input_problem(samples, batch)
    if problem is not None:
        return f"the input is not finite: {problem}"
    site, _ = _first_non_finite_module(model, lambda: run(model, batch))
    where, wrong = _where(site, model)
    recomputed = _recomputed_in_float64(model, run, batch)
    if recomputed is None:
        return (
            f"the numbers first became {wrong} {where}, with finite input and weights "
            f"(a float64 recomputation to tell overflow from an undefined operation failed)"
        )
    finite64, wrong64, peak64 = recomputed
    limit = _dtype_max(compute_dtype)
    if finite64:
        return (
            f"the numbers first overflowed {compute_dtype} {where}: recomputed in float64 every "
            f"value stays finite, the largest {peak64:.3g}, past {compute_dtype}'s {limit:.3g}; "
            f"the weights are too large for {compute_dtype} arithmetic"
        )
    if "infinite" in wrong64 or peak64 > limit:
        return (
            f"the numbers first became {wrong} {where}, and overflow even float64 "
            f"(values reach {peak64:.3g} there before they do): the weights are too large for "
            "any floating-point arithmetic"
        )
    return (
        f"the numbers first became {wrong} {where}, and stay so recomputed in float64 with "
        f"no value past {peak64:.3g}: with finite input and weights, the model's arithmetic "
        "itself is undefined there (such as 0/0 or inf - inf), whatever the precision"
    )


def _numpy_wrong(values: np.ndarray) -> str:
    nan, inf = bool(np.isnan(values).any()), bool(np.isinf(values).any())
    return " and ".join(name for name, found in (("NaN", nan), ("infinite", inf)) if found)


def _dtype_max(name: str) -> float:
    try:
        return float(torch.finfo(getattr(torch, name)).max)
    except (AttributeError, TypeError):
        return float("nan")


@contextmanager
def _watching(model: torch.nn.Module):
    """Records, in the order they finish, the first submodule whose output is not finite
    (children finish before their parents, so it is the innermost one) and the largest finite
    magnitude any submodule produced."""
    found: dict = {"site": None, "wrong": "", "peak": 0.0}

    def hook(name):
        def record(_module, _inputs, output):
            found["peak"] = max(found["peak"], largest_magnitude(output))
            if found["site"] is None:
                for tensor in float_tensors(output):
                    if not bool(torch.isfinite(tensor).all()):
                        found["site"], found["wrong"] = name, what_is_wrong(tensor)
                        break

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n]
    try:
        yield found
    finally:
        for handle in handles:
            handle.remove()


def _first_non_finite_module(model, forward) -> tuple[tuple[str | None, str], float]:
    with torch.no_grad(), _watching(model) as found:
        output = forward()
    if found["site"] is None:
        return (None, _output_wrong(output) or "NaN or infinite"), found["peak"]
    return (found["site"], found["wrong"]), found["peak"]


def _output_wrong(output) -> str:
    """What is wrong with the first non-finite tensor of ``output`` ('' when all are finite)."""
    return next(
        (what_is_wrong(t) for t in float_tensors(output) if not bool(torch.isfinite(t).all())),
        "",
    )


def _where(site: tuple[str | None, str], model) -> tuple[str, str]:
    """('in the image encoder (image_encoder.blocks.1)', 'NaN') for the message."""
    name, wrong = site
    if name is None:
        return "in the arithmetic between the model's layers", wrong
    top = name.split(".")[0]
    modalities = tuple(getattr(model, "modalities", ()))
    modality = next((m for m in modalities if m in top), None)
    stage = f"the {modality} encoder" if modality and "encoder" in top else f"'{top}'"
    return f"in {stage} ({name})", wrong


def _recomputed_in_float64(model, run, batch) -> tuple[bool, str, float] | None:
    """The same forward pass in float64: whether it stays finite, what the first non-finite
    value was if not, and the largest finite magnitude reached. None when the model cannot run
    in float64 (a device without it, a dtype fixed in its code)."""
    try:
        double = copy.deepcopy(model).double()
        device = next(double.parameters()).device.type
        # Autocast leaves float64 alone, but a caller's context must not decide this run.
        with torch.no_grad(), torch.autocast(device, enabled=False), _watching(double) as found:
            output = run(double, _as_float64(batch))
    except Exception:  # the recomputation is a diagnosis aid: its failure is said, not raised
        return None
    finite = all_finite(output) and found["site"] is None
    wrong = found["wrong"] or _output_wrong(output)
    return finite, wrong, found["peak"]


def _as_float64(batch):
    if isinstance(batch, torch.Tensor):
        return batch.double() if batch.is_floating_point() else batch
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(
            batch,
            **{
                f.name: _as_float64(getattr(batch, f.name))
                for f in dataclasses.fields(batch)
                if isinstance(getattr(batch, f.name), torch.Tensor)
            },
        )
    return batch

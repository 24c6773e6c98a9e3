"""Load a Hugging Face generative model folder: offline, safetensors only, no code from the
folder, and refused before allocation when it does not fit.

The order is the point: the folder's files are checked (folder.py), then the memory it needs
is read from the safetensors headers (memory.py), then the processor is loaded (a missing
package fails here, cheaply), and only then the weights.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.models.generative import dtype_cache
from mmstudio.models.generative.folder import (
    FolderReport,
    inspect_folder,
    missing_package_message,
    require_loadable,
)
from mmstudio.models.generative.hub_cache import resolve_repo_id
from mmstudio.models.generative.memory import available_bytes, check_fits, required_bytes
from mmstudio.models.zeroshot.sources import is_hub_id

# The probe that decides the CPU dtype: a short greedy answer to a text-only chat prompt. Long
# enough to time the decoding steps past the first, short enough to cost a second or so.
PROBE_PROMPT = "Name three colours."
PROBE_TOKENS = 6
PROBE_RUNS = 2  # timed runs after a warm-up; the faster counts
# Never trust_remote_code, never the network, never a pickle.
SAFE_LOADING = {"local_files_only": True, "trust_remote_code": False}


@dataclass
class LoadedFolder:
    """A generative model ready to run, with what it was loaded from and how."""

    hf_model: Any  # in eval mode, on ``device``
    processor: Any  # the AutoProcessor, or the tokenizer of a text-only model
    report: FolderReport
    name: str  # the folder's last part, or the repository id
    location: str  # the folder the files came from
    dtype: str  # "bfloat16", "float16" or "float32": what the weights compute in
    device: Any
    attn_implementation: str = "sdpa"
    # How the dtype was chosen: "cuda", "measured", "remembered", "MMSTUDIO_CPU_DTYPE",
    # "memory" (only bfloat16 fits) or "default".
    dtype_reason: str = ""
    probe: dict[str, Any] = field(default_factory=dict)


def resolve(spec: str | Path) -> tuple[Path, str]:
    """The folder ``spec`` names (a path, or a repository id in the local cache) and the name
    the model is shown by."""
    path = Path(spec)
    if path.is_dir():
        return path, path.resolve().name or str(path)
    text = path.as_posix()  # the registry hands over "owner/name" as a Path
    if is_hub_id(text):
        return resolve_repo_id(text), text
    raise InputError("the model folder does not exist", path)


def load_folder(spec: str | Path, device: Any = "cpu") -> LoadedFolder:
    import torch

    folder, name = resolve(spec)
    report = inspect_folder(folder)
    require_loadable(report)  # before any weight is touched
    device = torch.device(device)
    dtype, reason = _planned_dtype(report, device)
    check_fits(report.weights_census, dtype, device, folder)
    if device.type != "cpu":
        # Without accelerate, from_pretrained builds the model in the CPU's memory first and it
        # is moved to the device after, so it has to fit there too.
        check_fits(report.weights_census, dtype, torch.device("cpu"), folder)
    processor = load_processor(report)
    model, attention = load_model(report, dtype)
    probe: dict[str, Any] = {}
    if reason == "measure":
        model, dtype, probe = _measure_cpu_dtype(model, processor, report)
        reason = "measured"
    model.to(device)
    model.eval()
    return LoadedFolder(
        hf_model=model,
        processor=processor,
        report=report,
        name=name,
        location=str(folder),
        dtype=dtype,
        device=device,
        attn_implementation=attention,
        dtype_reason=reason,
        probe=probe,
    )


def _planned_dtype(report: FolderReport, device: Any) -> tuple[str, str]:
    """The dtype to load in, and why; "measure" means load float32 and probe bfloat16."""
    import torch

    if device.type == "cuda":
        return ("bfloat16" if torch.cuda.is_bf16_supported() else "float16"), "cuda"
    if device.type != "cpu":
        return "float32", "default"
    override = os.environ.get(dtype_cache.ENV_OVERRIDE, "").strip()
    if override:
        if override not in dtype_cache.CPU_DTYPES:
            raise InputError(
                f"{dtype_cache.ENV_OVERRIDE}={override!r} is not a CPU dtype: use "
                + " or ".join(dtype_cache.CPU_DTYPES)
            )
        return override, dtype_cache.ENV_OVERRIDE
    remembered = dtype_cache.remembered(_decision_key(report))
    if remembered:
        return remembered, "remembered"
    free = available_bytes(device)
    if (
        required_bytes(report.weights_census, "float32")
        > free
        >= required_bytes(report.weights_census, "bfloat16")
    ):
        return "bfloat16", "memory"  # float32 would be refused; bfloat16 fits, so no choice
    return "float32", "measure"


def _decision_key(report: FolderReport) -> str:
    return dtype_cache.decision_key(report.path, [report.path / "config.json", *report.weights])


def load_processor(report: FolderReport) -> Any:
    """The processor (a multimodal model) or the tokenizer (a text-only one)."""
    from transformers import AutoProcessor, AutoTokenizer

    loader = AutoProcessor if report.multimodal else AutoTokenizer
    try:
        return loader.from_pretrained(str(report.path), **SAFE_LOADING)
    except ImportError as error:
        raise InputError(_import_problem(error, report), report.path) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"the {'processor' if report.multimodal else 'tokenizer'} could not be loaded "
            f"({type(error).__name__}: {error})",
            report.path,
        ) from None


def load_model(report: FolderReport, dtype: str) -> tuple[Any, str]:
    """The model in ``dtype`` on the CPU, with SDPA attention where the family has it."""
    import torch
    import transformers

    # transformers' "Loading weights" bar would land in the terminal of `predict --json` and
    # in the log of the window; mmstudio says what it loads in its own words.
    transformers.utils.logging.disable_progress_bar()
    auto = getattr(transformers, report.auto_class)
    kwargs = {**SAFE_LOADING, "use_safetensors": True, "dtype": getattr(torch, dtype)}
    if report.submodel:
        kwargs.update(_submodel_loading(report))
    for attention in ("sdpa", "eager"):
        try:
            model = auto.from_pretrained(str(report.path), attn_implementation=attention, **kwargs)
            return model.eval(), attention
        except ImportError as error:
            raise InputError(_import_problem(error, report), report.path) from None
        except ValueError as error:
            if attention == "sdpa" and "sdpa" in str(error).lower():
                continue  # this family has no SDPA path: eager is the one it has
            raise InputError(f"the weights could not be loaded ({error})", report.path) from None
        except (OSError, RuntimeError, KeyError) as error:
            raise InputError(
                f"the weights could not be loaded ({type(error).__name__}: {error})", report.path
            ) from None
    raise AssertionError("unreachable: eager attention is always accepted or raises")


def _submodel_loading(report: FolderReport) -> dict[str, Any]:
    """Load one part of a composite model: its own config, its weights with the part's prefix
    taken off their names; the other parts' weights are left unread."""
    from transformers import AutoConfig

    try:
        whole = AutoConfig.from_pretrained(str(report.path), **SAFE_LOADING)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"config.json could not be loaded ({error})", report.path) from None
    return {
        "config": getattr(whole, f"{report.submodel}_config"),
        "key_mapping": {rf"^{report.submodel}\.": ""},
    }


def _import_problem(error: ImportError, report: FolderReport) -> str:
    module = getattr(error, "name", None)
    if not module:
        # transformers' own checks: "... requires the num2words library ..." (backends) or
        # "Package `num2words` is required to run SmolVLM processor" (a processor's own).
        found = re.search(
            r"requires the (\S+) library|[Pp]ackage `([^`]+)` is required", str(error)
        )
        module = (found.group(1) or found.group(2)) if found else None
    if module:
        return missing_package_message(module.split(".")[0], report.model_type)
    return (
        f"the {report.model_type or 'model'} family needs a package that is not installed "
        f'({error}); pip install "mmstudio[vlm]" may provide it'
    )


def _measure_cpu_dtype(model: Any, processor: Any, report: FolderReport):
    """Keep bfloat16 only if it answers the probe with the same tokens as float32, faster.
    Otherwise float32 is read from disk again: bfloat16 weights cast back up have lost the
    precision float32 is chosen for."""
    f32_tokens, f32_seconds = probe(model, processor)
    _to_bfloat16(model)
    bf16_tokens, bf16_seconds = probe(model, processor)
    keep = bf16_tokens == f32_tokens and bf16_seconds < f32_seconds
    measured = {
        "float32_seconds": round(f32_seconds, 4),
        "bfloat16_seconds": round(bf16_seconds, 4),
        "same_tokens": bf16_tokens == f32_tokens,
    }
    dtype_cache.remember(_decision_key(report), "bfloat16" if keep else "float32", measured)
    if keep:
        return model, "bfloat16", measured
    del model
    model, _attention = load_model(report, "float32")
    return model, "float32", measured


def probe(model: Any, processor: Any) -> tuple[list[int], float]:
    """The tokens of a short greedy answer to a text-only prompt, and the best time of
    PROBE_RUNS generations after a warm-up."""
    import torch

    inputs = probe_inputs(processor)
    tokenizer = getattr(processor, "tokenizer", processor)
    settings = {
        "max_new_tokens": PROBE_TOKENS,
        "do_sample": False,
        "pad_token_id": tokenizer.pad_token_id
        if tokenizer.pad_token_id is not None
        else tokenizer.eos_token_id,
    }
    best, tokens = float("inf"), []
    with torch.inference_mode():
        model.generate(**inputs, **settings)  # warm-up: first-call allocations and kernels
        for _ in range(PROBE_RUNS):
            start = time.perf_counter()
            output = model.generate(**inputs, **settings)
            best = min(best, time.perf_counter() - start)
            tokens = output[0, inputs["input_ids"].shape[1] :].tolist()
    return tokens, best


def probe_inputs(processor: Any) -> dict[str, Any]:
    # A processor's template takes a list of typed parts; a tokenizer's, plain text.
    is_processor = hasattr(processor, "tokenizer")
    content = [{"type": "text", "text": PROBE_PROMPT}] if is_processor else PROBE_PROMPT
    return dict(
        processor.apply_chat_template(
            [{"role": "user", "content": content}],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
        )
    )


def _to_bfloat16(model: Any) -> None:
    """Cast the parameters and saved buffers, as loading in bfloat16 would. Buffers the model
    computes itself (rotary frequencies) and modules the family keeps in float32 stay as they
    are, which a plain model.to(bfloat16) would not respect."""
    import torch

    keep = tuple(getattr(model, "_keep_in_fp32_modules", None) or ())
    saved = set(model.state_dict())
    for name, param in model.named_parameters():
        if param.is_floating_point() and not any(part in keep for part in name.split(".")):
            param.data = param.data.to(torch.bfloat16)
    for module_name, module in model.named_modules():
        for buffer_name, buffer in list(module._buffers.items()):
            full = f"{module_name}.{buffer_name}" if module_name else buffer_name
            if buffer is not None and buffer.is_floating_point() and full in saved:
                module._buffers[buffer_name] = buffer.to(torch.bfloat16)
    model.config.dtype = torch.bfloat16

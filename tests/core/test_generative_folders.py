"""Hugging Face generative model folders: which folders the backend claims, every refusal with
its message (each before a weight is touched), the memory estimate read from safetensors
headers, repository ids from the local cache, and the CPU dtype measured once per machine.

Real folders throughout: a tiny random Llama with a tokenizer built offline by the `tokenizers`
library, saved with save_pretrained, and folders whose safetensors files are headers over
sparse data (a 200 GB model that takes no disk)."""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import transformers

from mmstudio.inputs.errors import InputError
from mmstudio.models import registry
from mmstudio.models.builtin import CHECKPOINT_FOLDERS
from mmstudio.models.generative import dtype_cache, folder, loading, memory
from mmstudio.models.generative.entry import GENERATIVE_FOLDERS
from mmstudio.models.generative.folder import claims, inspect_folder
from mmstudio.models.generative.hub_cache import resolve_repo_id
from mmstudio.models.generative.loading import load_folder
from mmstudio.models.zeroshot.entry import CLIP_CLAP_FOLDERS
from mmstudio.resources import default_model_dir
from tests.conftest import requires_gpu

ROOT = Path(__file__).resolve().parents[2]
WORDS = ["<unk>", "<s>", "</s>", "<|user|>", "<|assistant|>"] + [chr(c) for c in range(32, 127)]
TEMPLATE = (
    "{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
LOADERS = ("AutoModelForCausalLM", "AutoModelForImageTextToText", "AutoModelForMultimodalLM")


def save_tiny_lm(target: Path) -> Path:
    """A two-layer random Llama and a character tokenizer with a chat template."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    fast.pad_token = "</s>"
    fast.chat_template = TEMPLATE
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(WORDS),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )
    transformers.LlamaForCausalLM(config).save_pretrained(target)
    fast.save_pretrained(target)
    return target


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory) -> Path:
    return save_tiny_lm(tmp_path_factory.mktemp("generative") / "tiny-lm")


@pytest.fixture
def lm_copy(tiny_lm, tmp_path) -> Path:
    """A copy of the tiny model that a test may break."""
    return Path(shutil.copytree(tiny_lm, tmp_path / "tiny-lm"))


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Decisions are remembered in this test's own cache; float32 unless a test measures."""
    monkeypatch.setenv("MMSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(dtype_cache.ENV_OVERRIDE, "float32")


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """Every processor, tokenizer and model from_pretrained call, by class, in order."""
    calls: list[str] = []
    for name in (*LOADERS, "AutoProcessor", "AutoTokenizer"):
        auto = getattr(transformers, name)
        real = auto.from_pretrained.__func__

        def recorded(cls, *args, _name=name, _real=real, **kwargs):
            calls.append(_name)
            return _real(cls, *args, **kwargs)

        monkeypatch.setattr(auto, "from_pretrained", classmethod(recorded))
    return calls


def write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int]]]) -> Path:
    """A valid safetensors header; the file is then extended to its declared size sparsely,
    so a header declaring 200 GB takes a few kilobytes of disk."""
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        size = memory.DTYPE_BYTES[dtype]
        for dim in shape:
            size *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as file:
        file.write(struct.pack("<Q", len(raw)) + raw)
    os.truncate(path, 8 + len(raw) + offset)
    return path


def huge_folder(lm_copy: Path, gigabytes: int = 200) -> Path:
    """The tiny model's config, tokenizer and template over bf16 weights declaring ``gigabytes``."""
    (lm_copy / "model.safetensors").unlink()
    rows = gigabytes * 10**9 // (2 * 4096)
    write_safetensors(lm_copy / "model.safetensors", {"model.embed.weight": ("BF16", [rows, 4096])})
    return lm_copy


def write_config(target: Path, config: dict) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    (target / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return target


def refusal(spec, device="cpu") -> str:
    with pytest.raises(InputError) as caught:
        load_folder(spec, device)
    return str(caught.value)


# --- which folders the backend claims -------------------------------------------------------


def test_claims_hugging_face_generative_folders(tiny_lm, tmp_path):
    assert claims(str(tiny_lm))
    llava = write_config(tmp_path / "llava", {"model_type": "llava"})
    qwen_audio = write_config(tmp_path / "qa", {"model_type": "qwen2_audio"})
    newer = write_config(
        tmp_path / "newer", {"model_type": "from_2030", "architectures": ["From2030ForCausalLM"]}
    )
    remote = write_config(tmp_path / "remote", {"auto_map": {"AutoModel": "modeling.Mine"}})
    assert all(claims(str(p)) for p in (llava, qwen_audio, newer, remote))


def test_leaves_other_folders_to_their_own_formats(tmp_path):
    fusionnet = write_config(tmp_path / "fusionnet", {"architecture": "fusionnet", "labels": []})
    clip = write_config(tmp_path / "clip", {"model_type": "clip"})
    clip_clap = tmp_path / "towers"
    write_config(clip_clap / "clip", {"model_type": "clip"})
    write_config(clip_clap / "clap", {"model_type": "clap"})
    classifier = write_config(
        tmp_path / "bert",
        {"model_type": "bert", "architectures": ["BertForSequenceClassification"]},
    )
    random = tmp_path / "random"
    random.mkdir()
    (random / "notes.txt").write_text("not a model")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    others = [fusionnet, clip, clip_clap, classifier, random, broken, tmp_path / "missing"]
    assert [p.name for p in others if claims(str(p))] == []
    assert not claims(str(default_model_dir()))  # the shipped FusionNet checkpoint
    assert not claims("owner/not-cached")
    assert "(BertForSequenceClassification) is not one that" in refusal(classifier)


def test_each_folder_opens_with_the_format_that_should_claim_it(tiny_lm, tmp_path, monkeypatch):
    """The registry asks the installed formats in turn, the fallback last: with this backend
    installed, a FusionNet or CLIP folder still reaches its own loader."""
    monkeypatch.setattr(
        registry, "_FORMATS", [CHECKPOINT_FOLDERS, CLIP_CLAP_FOLDERS, GENERATIVE_FOLDERS]
    )
    monkeypatch.setattr(registry, "_formats_discovered", True)
    registry._FORMATS.sort(key=lambda f: f.fallback)
    clip = write_config(tmp_path / "clip", {"model_type": "clip"})

    def opener(spec) -> str:
        return next(f.name for f in registry._FORMATS if f.fallback or f.claims(str(spec)))

    assert opener(tiny_lm) == "hf-generative"
    assert opener(clip) == "clip-clap"
    assert opener(default_model_dir()) == "fusionnet-checkpoint"


# --- refusals, each before a weight is read ------------------------------------------------


def test_pickle_only_weights_are_refused_without_unpickling(lm_copy, tmp_path, loads):
    marker = tmp_path / "unpickled"

    class Payload:  # unpickling this creates ``marker``: the file must never be unpickled
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (lm_copy / "model.safetensors").unlink()
    (lm_copy / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    message = refusal(lm_copy)
    assert "only pickle weights (pytorch_model.bin)" in message
    assert "unpickling runs whatever code" in message and "save_pretrained" in message
    assert not marker.exists() and loads == []


@pytest.mark.parametrize("where", ["config.json", "tokenizer_config.json"])
def test_a_folder_needing_remote_code_is_refused(lm_copy, loads, where):
    data = json.loads((lm_copy / where).read_text())
    data["auto_map"] = {"AutoModelForCausalLM": "modeling_mine.MineForCausalLM"}
    (lm_copy / where).write_text(json.dumps(data))
    message = refusal(lm_copy)
    assert f"{where} has an auto_map naming modeling_mine.MineForCausalLM" in message
    assert "code of its own" in message and "trust_remote_code" in message
    assert loads == []


def test_an_unknown_architecture_is_named(lm_copy, loads):
    config = json.loads((lm_copy / "config.json").read_text())
    config.update(model_type="mmstudio_future_lm", architectures=["FutureForCausalLM"])
    (lm_copy / "config.json").write_text(json.dumps(config))
    message = refusal(lm_copy)
    assert "'mmstudio_future_lm' (FutureForCausalLM) is not one that" in message
    assert all(name in message for name in LOADERS)
    assert transformers.__version__ in message and loads == []


def test_a_multimodal_folder_without_a_processor_is_refused(lm_copy, loads):
    (lm_copy / "config.json").write_text(json.dumps({"model_type": "llava"}))
    message = refusal(lm_copy)
    assert "no processor: processor_config.json or preprocessor_config.json is missing" in message
    assert "processor.save_pretrained" in message and loads == []


def test_a_missing_tokenizer_is_named(lm_copy, loads):
    (lm_copy / "tokenizer.json").unlink()
    (lm_copy / "tokenizer_config.json").unlink()
    message = refusal(lm_copy)
    assert "no tokenizer: tokenizer.json or tokenizer_config.json is missing" in message
    assert loads == []


def test_a_missing_chat_template_is_named(lm_copy, loads):
    (lm_copy / "chat_template.jinja").unlink()
    message = refusal(lm_copy)
    assert "no chat template: chat_template.jinja or chat_template.json is missing" in message
    assert loads == []
    # The template may also sit in tokenizer_config.json, as older save_pretrained wrote it.
    config = json.loads((lm_copy / "tokenizer_config.json").read_text())
    (lm_copy / "tokenizer_config.json").write_text(
        json.dumps({**config, "chat_template": TEMPLATE})
    )
    assert inspect_folder(lm_copy).problem == ""


def test_a_family_needing_an_extra_package_names_it(lm_copy, loads, monkeypatch):
    monkeypatch.setitem(folder.EXTRA_PACKAGES, "llama", "mmstudio_absent_package")
    message = refusal(lm_copy)
    assert "the llama family needs the Python package 'mmstudio_absent_package'" in message
    assert 'pip install "mmstudio[vlm]"' in message and loads == []
    # Idefics3's processor needs no num2words (SmolVLM's needs it for its video prompts).
    assert (
        folder.EXTRA_PACKAGES["smolvlm"] == "num2words" and "idefics3" not in folder.EXTRA_PACKAGES
    )
    assert folder.EXTRA_PACKAGES["gemma3n"] == "timm"


def test_extra_is_declared_in_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"]["vlm"] == ["num2words>=0.5", "timm>=1.0"]
    formats = project["entry-points"]["mmstudio.model_formats"]
    assert formats["hf-generative"] == "mmstudio.models.generative.entry:GENERATIVE_FOLDERS"


def _needs_num2words(*args, **kwargs):
    raise ImportError("LlamaTokenizer requires the num2words library but it was not found")


def _needs_timm(*args, **kwargs):
    raise ModuleNotFoundError("No module named 'timm'", name="timm")


@pytest.mark.parametrize(
    ("loader", "failure", "module"),
    [
        ("AutoTokenizer", _needs_num2words, "num2words"),
        ("AutoModelForCausalLM", _needs_timm, "timm"),
    ],
)
def test_an_import_error_while_loading_names_the_missing_module(
    lm_copy, monkeypatch, loader, failure, module
):
    """A family this backend has no entry for in EXTRA_PACKAGES is still explained."""
    monkeypatch.setattr(getattr(transformers, loader), "from_pretrained", failure)
    message = refusal(lm_copy)
    assert f"the llama family needs the Python package '{module}'" in message
    assert 'pip install "mmstudio[vlm]"' in message


def test_a_missing_shard_and_a_damaged_header_are_refused(lm_copy, loads):
    (lm_copy / "model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {"a": "model.safetensors", "b": "model-00002.safetensors"}})
    )
    assert "lists model-00002.safetensors, missing from the folder" in refusal(lm_copy)
    (lm_copy / "model.safetensors.index.json").unlink()
    (lm_copy / "model.safetensors").write_bytes(struct.pack("<Q", 40) + b"{not json" + b" " * 31)
    assert "model.safetensors: the safetensors header is not valid JSON" in refusal(lm_copy)
    assert loads == []


# --- memory, from the headers alone --------------------------------------------------------


def test_the_estimate_reads_headers_and_converts_to_the_load_dtype(tmp_path):
    path = write_safetensors(
        tmp_path / "model.safetensors",
        {"w": ("BF16", [1000, 1000]), "q": ("I8", [1000]), "b": ("F32", [10])},
    )
    weights = memory.census([path])
    assert weights.elements == (("BF16", 1_000_000), ("F32", 10), ("I8", 1000))
    assert weights.stored_bytes == 2_000_000 + 40 + 1000
    assert weights.bytes_as("float32") == 4_000_000 + 40 + 1000  # integers keep their size
    assert weights.bytes_as("bfloat16") == 2_000_000 + 20 + 1000
    needed = memory.required_bytes(weights, "float32")
    assert needed == 4_001_040 + int(4_001_040 * memory.MARGIN_FRACTION) + memory.MARGIN_BYTES


def test_a_model_too_large_is_refused_before_allocation_with_both_figures(lm_copy, loads):
    huge = huge_folder(lm_copy)
    weights = huge / "model.safetensors"
    assert weights.stat().st_size > 199 * 10**9 and weights.stat().st_blocks * 512 < 10**6
    available = memory.available_bytes("cpu")
    rss_before = _rss_bytes()
    message = refusal(huge)
    grew = _rss_bytes() - rss_before
    needed = memory.required_bytes(inspect_folder(huge).weights_census, "float32")
    assert f"needs about {memory.gib(needed)} of memory in float32" in message
    assert "372.5 GiB of weights" in message  # 100e9 bf16 elements, at 4 bytes each
    [free] = re.findall(r"only ([0-9.]+) GiB is available on cpu", message)
    assert abs(float(free) * memory.GIB - available) < 0.5 * memory.GIB
    assert loads == []  # no processor, tokenizer or model was loaded
    assert grew < 64 * 1024**2, f"refusing grew the process by {grew / 1024**2:.0f} MiB"


def test_bfloat16_is_chosen_without_probing_when_only_it_fits(lm_copy, monkeypatch):
    monkeypatch.delenv(dtype_cache.ENV_OVERRIDE)
    huge = huge_folder(lm_copy, gigabytes=1)
    census = inspect_folder(huge).weights_census
    room = memory.required_bytes(census, "float32") + memory.required_bytes(census, "bfloat16")
    monkeypatch.setattr(loading, "available_bytes", lambda device: room // 2)
    assert loading._planned_dtype(inspect_folder(huge), torch.device("cpu")) == (
        "bfloat16",
        "memory",
    )


def _rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


# --- loading ----------------------------------------------------------------------------


def test_a_folder_loads_offline_in_eval_mode_and_answers_as_transformers_does(tiny_lm, loads):
    loaded = load_folder(tiny_lm, "cpu")
    assert loads == ["AutoTokenizer", "AutoModelForCausalLM"]  # the processor first
    assert (loaded.name, loaded.location) == ("tiny-lm", str(tiny_lm))
    assert (loaded.dtype, loaded.dtype_reason) == ("float32", dtype_cache.ENV_OVERRIDE)
    assert loaded.attn_implementation == "sdpa" and not loaded.hf_model.training
    assert loaded.report.auto_class == "AutoModelForCausalLM"
    reference = transformers.AutoModelForCausalLM.from_pretrained(tiny_lm, local_files_only=True)
    inputs = loading.probe_inputs(loaded.processor)
    ours = loaded.hf_model.generate(**inputs, max_new_tokens=5, do_sample=False, pad_token_id=2)
    theirs = reference.generate(**inputs, max_new_tokens=5, do_sample=False, pad_token_id=2)
    assert torch.equal(ours, theirs)


def test_a_family_without_sdpa_falls_back_to_eager(tiny_lm, monkeypatch):
    real = transformers.AutoModelForCausalLM.from_pretrained.__func__
    asked: list[str] = []

    def no_sdpa(cls, *args, attn_implementation=None, **kwargs):
        asked.append(attn_implementation)
        if attn_implementation == "sdpa":
            raise ValueError("This model does not support `attn_implementation='sdpa'` yet")
        return real(cls, *args, attn_implementation=attn_implementation, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", classmethod(no_sdpa))
    loaded = load_folder(tiny_lm, "cpu")
    assert asked == ["sdpa", "eager"] and loaded.attn_implementation == "eager"


@pytest.fixture
def no_network(monkeypatch):
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_a_repository_id_opens_from_the_local_cache_only(
    tiny_lm, tmp_path, monkeypatch, no_network
):
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    commit = "1" * 40
    repo = cache / "models--tiny--chat-lm"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(tiny_lm, repo / "snapshots" / commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # read at import, so set it too
    assert resolve_repo_id("tiny/chat-lm") == repo / "snapshots" / commit
    assert claims("tiny/chat-lm") and not claims("tiny/other-lm")
    assert loading.resolve(Path("tiny/chat-lm")) == (repo / "snapshots" / commit, "tiny/chat-lm")
    loaded = load_folder("tiny/chat-lm", "cpu")
    assert (loaded.name, loaded.location) == ("tiny/chat-lm", str(repo / "snapshots" / commit))
    message = refusal("tiny/other-lm")
    assert f"'tiny/other-lm' is not in the local Hugging Face cache ({cache})" in message
    assert "hf download tiny/other-lm" in message and "never downloads" in message
    assert no_network == []


# --- the CPU dtype, measured once ----------------------------------------------------------


def test_the_cpu_dtype_is_measured_once_and_remembered(lm_copy, monkeypatch, loads):
    monkeypatch.delenv(dtype_cache.ENV_OVERRIDE)
    probes: list[torch.dtype] = []
    real_probe = loading.probe

    def counted(model, processor):
        probes.append(next(model.parameters()).dtype)
        return real_probe(model, processor)

    monkeypatch.setattr(loading, "probe", counted)
    first = load_folder(lm_copy, "cpu")
    assert probes == [torch.float32, torch.bfloat16] and first.dtype_reason == "measured"
    assert next(first.hf_model.parameters()).dtype == getattr(torch, first.dtype)
    stored = json.loads(dtype_cache.cache_path().read_text())
    [(key, entry)] = stored.items()
    assert json.loads(key) == [str(lm_copy.resolve()), _newest(lm_copy), dtype_cache.cpu_name()]
    assert entry["dtype"] == first.dtype and set(entry) >= {"float32_seconds", "same_tokens"}
    loads.clear()
    again = load_folder(lm_copy, "cpu")
    assert probes == [torch.float32, torch.bfloat16]  # not probed again
    assert (again.dtype, again.dtype_reason) == (first.dtype, "remembered")
    assert next(again.hf_model.parameters()).dtype == getattr(torch, first.dtype)
    assert loads == ["AutoTokenizer", "AutoModelForCausalLM"]  # loaded in it directly
    os.utime(lm_copy / "config.json", ns=(_newest(lm_copy) + 10**9,) * 2)  # a re-saved model
    load_folder(lm_copy, "cpu")
    assert len(probes) == 4 and len(json.loads(dtype_cache.cache_path().read_text())) == 2


def _newest(target: Path) -> int:
    files = [target / "config.json", target / "model.safetensors"]
    return max(p.stat().st_mtime_ns for p in files)


@pytest.mark.parametrize(
    "bf16_answer",
    [
        pytest.param(([5, 6, 7], 0.5), id="different-tokens-even-if-faster"),
        pytest.param(([5, 6, 8], 2.0), id="same-tokens-but-slower"),
    ],
)
def test_float32_is_read_again_from_disk_when_bfloat16_loses(lm_copy, monkeypatch, bf16_answer):
    monkeypatch.delenv(dtype_cache.ENV_OVERRIDE)
    answers = iter([([5, 6, 8], 1.0), bf16_answer])
    monkeypatch.setattr(loading, "probe", lambda model, processor: next(answers))
    loaded_in: list[torch.dtype] = []
    real = transformers.AutoModelForCausalLM.from_pretrained.__func__

    def recorded(cls, *args, dtype=None, **kwargs):
        loaded_in.append(dtype)
        return real(cls, *args, dtype=dtype, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", classmethod(recorded))
    loaded = load_folder(lm_copy, "cpu")
    assert loaded_in == [torch.float32, torch.float32]  # reloaded, never cast back up
    assert loaded.dtype == "float32"
    assert {p.dtype for p in loaded.hf_model.parameters()} == {torch.float32}
    [entry] = json.loads(dtype_cache.cache_path().read_text()).values()
    assert entry["dtype"] == "float32"


def test_bfloat16_is_kept_when_it_answers_the_same_faster(lm_copy, monkeypatch):
    monkeypatch.delenv(dtype_cache.ENV_OVERRIDE)
    answers = iter([([5, 6, 8], 1.0), ([5, 6, 8], 0.5)])
    monkeypatch.setattr(loading, "probe", lambda model, processor: next(answers))
    loaded = load_folder(lm_copy, "cpu")
    assert loaded.dtype == "bfloat16"
    assert {p.dtype for p in loaded.hf_model.parameters()} == {torch.bfloat16}
    rotary = loaded.hf_model.model.rotary_emb.inv_freq  # computed, not saved: as loading keeps it
    assert rotary.dtype == torch.float32


def test_the_environment_overrides_the_cpu_dtype(tiny_lm, monkeypatch):
    monkeypatch.setattr(loading, "probe", lambda *a: pytest.fail("the override must not probe"))
    monkeypatch.setenv(dtype_cache.ENV_OVERRIDE, "bfloat16")
    loaded = load_folder(tiny_lm, "cpu")
    assert (loaded.dtype, loaded.dtype_reason) == ("bfloat16", dtype_cache.ENV_OVERRIDE)
    assert next(loaded.hf_model.parameters()).dtype == torch.bfloat16
    monkeypatch.setenv(dtype_cache.ENV_OVERRIDE, "float8")
    assert "MMSTUDIO_CPU_DTYPE='float8' is not a CPU dtype: use float32 or bfloat16" in refusal(
        tiny_lm
    )


@requires_gpu
def test_a_gpu_loads_in_bfloat16_and_refuses_what_its_memory_cannot_hold(tiny_lm, lm_copy):
    loaded = load_folder(tiny_lm, "cuda")
    assert (loaded.dtype, loaded.dtype_reason) == ("bfloat16", "cuda")
    parameter = next(loaded.hf_model.parameters())
    assert parameter.dtype == torch.bfloat16 and parameter.device.type == "cuda"
    message = refusal(huge_folder(lm_copy, gigabytes=2000), "cuda")
    assert "of GPU memory in bfloat16" in message and "is available on cuda" in message


def test_the_entry_module_imports_neither_torch_nor_transformers():
    code = (
        "import sys; from mmstudio.models.generative.entry import GENERATIVE_FOLDERS as f; "
        "print(f.name, sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["hf-generative", "[]"]


def save_omni_checkpoint(target: Path):
    """A Qwen2.5-Omni folder as the whole model saves it (weights under thinker. and talker.,
    the thinker's config inside the composite one), with a tiny random thinker."""
    from safetensors.torch import save_file
    from transformers.models.qwen2_5_omni import configuration_qwen2_5_omni as omni

    text = omni.Qwen2_5OmniTextConfig(
        vocab_size=200,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        rope_parameters={"rope_type": "default", "rope_theta": 1e4, "mrope_section": [1, 1, 2]},
    )
    vision = omni.Qwen2_5OmniVisionEncoderConfig(
        depth=1, hidden_size=16, intermediate_size=32, num_heads=2, out_hidden_size=32
    )
    audio = omni.Qwen2_5OmniAudioEncoderConfig(
        num_mel_bins=16,
        encoder_layers=1,
        encoder_attention_heads=2,
        encoder_ffn_dim=32,
        d_model=16,
        output_dim=32,
        max_source_positions=100,
    )
    thinker_config = omni.Qwen2_5OmniThinkerConfig(
        text_config=text, vision_config=vision, audio_config=audio
    )
    torch.manual_seed(0)
    thinker = transformers.Qwen2_5OmniThinkerForConditionalGeneration(thinker_config)
    whole = omni.Qwen2_5OmniConfig(thinker_config=thinker_config.to_dict())
    whole.architectures = ["Qwen2_5OmniForConditionalGeneration"]
    whole.save_pretrained(target)
    state = {f"thinker.{k}": v.contiguous() for k, v in thinker.state_dict().items()}
    state["talker.model.embed_tokens.weight"] = torch.zeros(1000, 8)  # the talker: left unread
    save_file(state, str(target / "model.safetensors"), metadata={"format": "pt"})
    return thinker


def test_a_qwen_omni_folder_loads_its_thinker_alone(tmp_path):
    thinker = save_omni_checkpoint(tmp_path / "omni")
    report = inspect_folder(tmp_path / "omni")
    assert (report.model_type, report.submodel) == ("qwen2_5_omni", "thinker")
    assert report.auto_class == "AutoModelForImageTextToText"
    assert report.weight_bytes == 4 * sum(p.numel() for p in thinker.state_dict().values())
    assert "no processor" in report.problem  # the weights alone are not an openable folder
    model, attention = loading.load_model(report, "float32")
    assert type(model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
    loaded, saved = model.state_dict(), thinker.state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)


@pytest.mark.parametrize("family", ["llava", "qwen2_vl", "qwen2_audio", "qwen25_omni_thinker"])
def test_each_required_family_opens_through_the_folder_format(tiny_model, family, loads):
    """The four families the issue names, built by tests/generative/tiny_models.py, open
    through the format the registry uses, with the processor loaded before the weights."""
    location = tiny_model(family)
    assert claims(str(location)) and inspect_folder(location).problem == ""
    model = GENERATIVE_FOLDERS.load(location, "cpu")
    assert type(model).__name__ == "GenerativeModel"
    [weights] = [name for name in loads if name in LOADERS]  # loaded once, in float32
    assert loads[0] == "AutoProcessor" and loads[-1] == weights


def test_a_text_only_language_model_answers_and_explains_its_one_modality(tiny_lm):
    from mmstudio.analysis import Analyzer
    from mmstudio.inputs.sample import Sample
    from mmstudio.models.generative.options import GenerationOptions
    from mmstudio.models.registry import get_model

    model = get_model(str(tiny_lm), "cpu")
    assert model.modalities == ("text",)
    rendered = model.prompt([Sample(text="hi there")], [("text",)])["input_ids"][0].tolist()
    pieces = model.tokenizer.convert_ids_to_tokens(rendered)
    assert "".join(pieces) == "<|user|>hi there<|assistant|>"  # the content as a string
    analysis = Analyzer(model, "cpu").generate(
        Sample(text="hi there"), GenerationOptions(max_new_tokens=4)
    )
    assert analysis.coalitions == [[], ["text"]]
    assert analysis.token_coalition_logprobs.shape == (2, len(analysis.answer_tokens))
    values = analysis.token_coalition_logprobs
    assert analysis.token_shapley[:, 0] == pytest.approx(values[1] - values[0])
    assert analysis.prompt_words == ["hi", "there"]

"""What a Hugging Face model folder holds, and whether mmstudio can open it as a generative model.

Everything here reads small files only (config.json, the processor's JSON files, the
safetensors headers): a folder that cannot be opened is refused, with what is wrong and what to
do, before torch or transformers touch a weight. transformers' own Auto mappings say which
architectures it knows, so every family of those classes is accepted without a list of ours.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mmstudio.inputs.errors import InputError
from mmstudio.models.generative.hub_cache import cached_folder
from mmstudio.models.generative.memory import WeightCensus, census
from mmstudio.models.json_file import read_json_object
from mmstudio.models.zeroshot.sources import is_clip_clap_folder, is_hub_id

IMAGE_TEXT_TO_TEXT = "AutoModelForImageTextToText"
MULTIMODAL_LM = "AutoModelForMultimodalLM"
CAUSAL_LM = "AutoModelForCausalLM"
AUTO_CLASSES = (IMAGE_TEXT_TO_TEXT, MULTIMODAL_LM, CAUSAL_LM)
CONFIG_FILE = "config.json"
INDEX_FILE = "model.safetensors.index.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".h5", ".msgpack")
# The files a processor (image or audio preprocessing plus the tokenizer) is saved in, and the
# tokenizer's own; either JSON of each pair is enough for AutoProcessor / AutoTokenizer.
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
# Where save_pretrained puts a chat template: its own file (transformers 4.43 and later), the
# processor's older JSON, or a key of the tokenizer's or the processor's config.
TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
TEMPLATE_KEY_FILES = ("tokenizer_config.json", "processor_config.json")
# Families whose processor or tower imports a package transformers does not require. The
# loader also turns any ImportError into a message naming the module, so a family missing
# here is still explained, only later (after the weights' headers are read).
EXTRA_PACKAGES: dict[str, str] = {
    "smolvlm": "num2words",
    "gemma3n": "timm",
}
EXTRA_INSTALL = 'pip install "mmstudio[vlm]"'
# Config files can carry auto_map, the pointer to code shipped with the model.
REMOTE_CODE_FILES = (
    CONFIG_FILE,
    "tokenizer_config.json",
    "processor_config.json",
    "preprocessor_config.json",
)
MAX_JSON_BYTES = 64 * 1024**2
# Composite models whose part that reads image, audio and text and writes text is loaded alone,
# under this prefix of the weights: Qwen2.5-Omni's thinker, without the talker and vocoder that
# speak the answer. Besides their memory, the whole model's loader unpickles a speaker file
# (spk_dict.pt) and looks it up without local_files_only.
SUBMODELS = ("thinker",)
# Class names of generative heads: a folder whose architecture is newer than the installed
# transformers is still recognised as one, so it gets this backend's explanation.
_GENERATIVE_SUFFIXES = ("ForCausalLM", "ForConditionalGeneration", "LMHeadModel")


@dataclass(frozen=True)
class FolderReport:
    """What a model folder holds; ``problem`` says why it cannot be opened ("" when it can)."""

    path: Path
    config: dict[str, Any] = field(hash=False)
    model_type: str
    architectures: tuple[str, ...]
    auto_class: str | None  # one of AUTO_CLASSES, None when transformers does not know it
    submodel: str  # "thinker": only that part of a composite model is loaded; "" the whole
    weights: tuple[Path, ...]  # the *.safetensors shards
    pickle_weights: tuple[Path, ...]
    has_processor: bool
    has_tokenizer: bool
    has_chat_template: bool
    weights_census: WeightCensus | None
    problem: str = ""

    @property
    def multimodal(self) -> bool:
        return self.auto_class in (IMAGE_TEXT_TO_TEXT, MULTIMODAL_LM)

    @property
    def weight_bytes(self) -> int:
        """The weights' size as stored (each tensor in its own dtype)."""
        return self.weights_census.stored_bytes if self.weights_census else 0


@functools.cache
def auto_mappings() -> tuple[tuple[str, dict[str, str]], ...]:
    """Each Auto class with transformers' model_type -> class name mapping, most specific first
    (the multimodal-LM mapping holds every image-text-to-text type, plus the audio ones)."""
    # transformers (and torch with it) is imported only for a folder that has a model_type.
    from transformers.models.auto import modeling_auto

    return (
        (IMAGE_TEXT_TO_TEXT, dict(modeling_auto.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES)),
        (MULTIMODAL_LM, dict(modeling_auto.MODEL_FOR_MULTIMODAL_LM_MAPPING_NAMES)),
        (CAUSAL_LM, dict(modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)),
    )


def auto_class_for(model_type: str, architectures: tuple[str, ...] = ()) -> str | None:
    """The Auto class that loads this architecture. The class names in ``architectures`` decide
    when they name a head: a BERT classifier's model_type is in the causal-LM mapping too (as
    BertLMHeadModel), yet its BertForSequenceClassification is no generative model. The
    model_type decides when no head is named (no architectures, or only base "...Model"s)."""
    for auto_class, mapping in auto_mappings():
        if set(architectures) & set(mapping.values()):
            return auto_class
    if any(not name.endswith("Model") for name in architectures):
        return None
    for auto_class, mapping in auto_mappings():
        if model_type in mapping:
            return auto_class
    return None


def read_json(path: Path) -> dict[str, Any]:
    return read_json_object(path, MAX_JSON_BYTES)


def _config_or_none(folder: Path) -> dict[str, Any] | None:
    try:
        return read_json(folder / CONFIG_FILE)
    except (InputError, OSError):
        return None


def _names(config: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    model_type = config.get("model_type")
    architectures = config.get("architectures")
    return (
        model_type if isinstance(model_type, str) else "",
        tuple(a for a in architectures if isinstance(a, str))
        if isinstance(architectures, list)
        else (),
    )


def claims(spec: str) -> bool:
    """A Hugging Face folder (or a repository id in the local cache) of a generative model:
    its config.json names an architecture of AutoModelForImageTextToText, AutoModelForMultimodalLM
    or AutoModelForCausalLM, a generative head transformers does not know yet, or code of its own
    (auto_map), so that loading it explains why it is refused. mmstudio's FusionNet checkpoints
    ("architecture" in their config, no model_type) and CLIP / CLAP folders are left to their
    own formats."""
    text = str(spec)
    folder: Path | None = Path(text)
    if not folder.is_dir():
        folder = cached_folder(text) if is_hub_id(text) else None
    if folder is None or is_clip_clap_folder(folder):
        return False
    config = _config_or_none(folder)
    if config is None or "architecture" in config:  # FusionNet's key; transformers' is plural
        return False
    model_type, architectures = _names(config)
    if "auto_map" in config:
        return True
    if not model_type and not architectures:
        return False
    if any(name.endswith(_GENERATIVE_SUFFIXES) for name in architectures):
        return True
    return auto_class_for(model_type, architectures) is not None


def inspect_folder(path: str | Path) -> FolderReport:
    """Read what ``path`` holds and find the first reason it cannot be opened, if any.
    Raises InputError only when it is not a model folder at all (no readable config.json)."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError("the model folder does not exist", folder)
    if not (folder / CONFIG_FILE).is_file():
        raise InputError(
            "this folder has no config.json, so it is not a Hugging Face model folder "
            "(save the model there with save_pretrained)",
            folder,
        )
    config = read_json(folder / CONFIG_FILE)
    model_type, architectures = _names(config)
    weights = tuple(sorted(folder.glob("*.safetensors")))
    pickles = tuple(
        sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)
    )
    files = {p.name for p in folder.iterdir()}
    remote = _remote_code(folder)
    submodel, sub_config = _submodel(config)
    auto_class = None
    if not remote:
        auto_class = (
            auto_class_for(*_names(sub_config))
            if submodel
            else auto_class_for(model_type, architectures)
        )
    weights_census, weights_problem = None, ""
    if weights:
        try:
            weights_census = census(weights, prefix=f"{submodel}." if submodel else "")
        except InputError as error:
            weights_problem = str(error)
    report = FolderReport(
        path=folder,
        config=config,
        model_type=model_type,
        architectures=architectures,
        auto_class=auto_class,
        submodel=submodel,
        weights=weights,
        pickle_weights=pickles,
        has_processor=any(name in files for name in PROCESSOR_FILES),
        has_tokenizer=any(name in files for name in TOKENIZER_FILES),
        has_chat_template=_has_chat_template(folder, files),
        weights_census=weights_census,
    )
    problem = (
        remote
        or _architecture_problem(report)
        or weights_problem
        or _weights_problem(report)
        or _processor_problem(report)
        or _extra_package_problem(report)
    )
    return replace(report, problem=problem)


def _submodel(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The part of a composite model to load alone (see SUBMODELS), with its config."""
    for name in SUBMODELS:
        sub_config = config.get(f"{name}_config")
        if isinstance(sub_config, dict) and isinstance(sub_config.get("model_type"), str):
            return name, sub_config
    return "", {}


def require_loadable(report: FolderReport) -> None:
    """Refuse the folder with its problem, if it has one."""
    if report.problem:
        raise InputError(report.problem, report.path)


def _remote_code(folder: Path) -> str:
    for name in REMOTE_CODE_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            auto_map = read_json(path).get("auto_map")
        except (InputError, OSError):
            continue  # a broken processor file is reported when the processor is loaded
        if auto_map:
            classes = ", ".join(
                sorted({str(v) for v in auto_map.values()})
                if isinstance(auto_map, dict)
                else map(str, auto_map)
            )
            return (
                f"the model needs code of its own to load ({name} has an auto_map naming "
                f"{classes}); mmstudio never runs code that comes with a model "
                "(trust_remote_code), so it will not open this folder. Use a version of the "
                "model that transformers supports natively"
            )
    return ""


def _architecture_problem(report: FolderReport) -> str:
    if report.auto_class is not None:
        return ""
    import transformers

    named = f"'{report.model_type}'" if report.model_type else "no model_type"
    if report.architectures:
        named += f" ({', '.join(report.architectures)})"
    return (
        f"the architecture {named} is not one that {', '.join(AUTO_CLASSES)} know in "
        f"transformers {transformers.__version__}, so it is no generative model mmstudio can "
        "open. Open a vision-, audio- or text-language model of a family transformers knows, "
        "or upgrade transformers if this family is newer"
    )


def _weights_problem(report: FolderReport) -> str:
    if not report.weights:
        if report.pickle_weights:
            names = ", ".join(p.name for p in report.pickle_weights)
            return (
                f"the folder holds only pickle weights ({names}), which mmstudio refuses to "
                "load: unpickling runs whatever code the file contains. Save the model again "
                "with save_pretrained(folder) to get model.safetensors"
            )
        return (
            "the folder has no model.safetensors weights; save the model there with "
            "save_pretrained(folder)"
        )
    index = report.path / INDEX_FILE
    if index.is_file():
        try:
            shards = set(read_json(index).get("weight_map", {}).values())
        except (InputError, OSError, AttributeError) as error:
            return f"{INDEX_FILE} cannot be read ({error})"
        missing = sorted(str(s) for s in shards if not (report.path / str(s)).is_file())
        if missing:
            return (
                f"{INDEX_FILE} lists {', '.join(missing)}, missing from the folder: the "
                "download was interrupted? Fetch the model again"
            )
    return ""


def _processor_problem(report: FolderReport) -> str:
    saver = "processor" if report.multimodal else "tokenizer"
    save = f"save it beside the weights with {saver}.save_pretrained(folder)"
    if report.multimodal and not report.has_processor:
        return (
            f"the folder has no processor: {' or '.join(PROCESSOR_FILES)} is missing "
            f"(the {report.model_type or 'model'}'s image or audio preprocessing); {save}"
        )
    if not report.has_tokenizer:
        return f"the folder has no tokenizer: {' or '.join(TOKENIZER_FILES)} is missing; {save}"
    if not report.has_chat_template:
        return (
            f"the folder has no chat template: {' or '.join(TEMPLATE_FILES)} is missing (nor "
            f"has {' or '.join(TEMPLATE_KEY_FILES)} a 'chat_template'). Instruction-tuned "
            "models ('-Instruct', '-it', '-chat') ship one; a base model does not, and mmstudio "
            "needs it to build the prompt"
        )
    return ""


def _has_chat_template(folder: Path, files: set[str]) -> bool:
    if (
        any(name in files for name in TEMPLATE_FILES)
        or (folder / "additional_chat_templates").is_dir()
    ):
        return True
    for name in TEMPLATE_KEY_FILES:
        if name in files:
            try:
                if read_json(folder / name).get("chat_template"):
                    return True
            except (InputError, OSError):
                continue
    return False


def missing_package_message(package: str, family: str) -> str:
    return (
        f"the {family or 'model'} family needs the Python package '{package}', which is not "
        f"installed: {EXTRA_INSTALL} (or pip install {package}), then open the model again"
    )


def _extra_package_problem(report: FolderReport) -> str:
    package = EXTRA_PACKAGES.get(report.model_type)
    if package and importlib.util.find_spec(package) is None:
        return missing_package_message(package, report.model_type)
    return ""

"""The zero-shot backend's entry points (pyproject.toml): the 'clip-clap' model and the folders
it opens. Importing this module checks the local Hugging Face cache, which is why it is
separate from the rest of the package: the registry imports it only when it lists models."""

from mmstudio.models.registry import FolderFormat
from mmstudio.models.zeroshot.sources import clip_clap_entry, is_clip_clap_source, load_folder

CLIP_CLAP = clip_clap_entry()
CLIP_CLAP_FOLDERS = FolderFormat("clip-clap", claims=is_clip_clap_source, load=load_folder)

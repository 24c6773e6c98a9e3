"""A Hugging Face repository id ("Qwen/Qwen2-VL-2B-Instruct") resolved to its snapshot folder in
the local cache. Only the cache is looked at: mmstudio never downloads a model on its own."""

from __future__ import annotations

from pathlib import Path

from mmstudio.inputs.errors import InputError
from mmstudio.models.zeroshot.sources import hub_cache_dir, is_hub_id

HOW_TO_FETCH = (
    "download it once with `hf download {repo_id}` (or save it with save_pretrained and open "
    "the folder); mmstudio itself never downloads a model"
)


def cached_folder(repo_id: str, cache_dir: str | Path | None = None) -> Path | None:
    """The snapshot folder of ``repo_id``'s main revision in the local cache, or None."""
    if not is_hub_id(repo_id):
        return None
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        # local_files_only: the answer comes from refs/ and snapshots/ on disk, no request made.
        folder = Path(
            snapshot_download(
                repo_id, local_files_only=True, cache_dir=str(hub_cache_dir(cache_dir))
            )
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError):
        return None
    return folder if folder.is_dir() else None


def resolve_repo_id(repo_id: str, cache_dir: str | Path | None = None) -> Path:
    """``repo_id``'s cached snapshot folder; a clear refusal when it is not in the cache."""
    folder = cached_folder(repo_id, cache_dir)
    if folder is None:
        raise InputError(
            f"'{repo_id}' is not in the local Hugging Face cache ({hub_cache_dir(cache_dir)}): "
            + HOW_TO_FETCH.format(repo_id=repo_id)
        )
    return folder

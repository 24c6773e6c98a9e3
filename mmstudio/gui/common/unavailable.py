"""What the window says about a registered model that cannot be loaded, by kind of entry.

A built-in checkpoint lacks its trained weights, the zero-shot backend lacks pretrained
weights in the Hugging Face cache, a plugin failed to import: each needs a different remedy,
and the registry's ``problem`` (the real reason) is always part of the message.
"""

from __future__ import annotations

from html import escape

from mmstudio.models.registry import ModelEntry

_OTHERWISE = "or open a trained model folder with <b>Model ▸ Open Model Folder…</b>"


def unavailable_html(entry: ModelEntry) -> str:
    name, problem = escape(entry.name), escape(entry.problem)
    if entry.kind == "plugin":
        return (
            f"<b>The plugin model “{name}” could not be loaded</b> ({escape(entry.source)}): "
            f"{problem}. Reinstall or fix the plugin package and restart mmstudio, or choose "
            f"another model in the Model menu."
        )
    if entry.kind == "zero-shot":
        return (
            f"<b>The zero-shot model “{name}” has no pretrained weights in the Hugging Face "
            f"cache</b> (<code>{escape(entry.location)}</code>): {problem}. Nothing is "
            f"downloaded unless you ask; {_OTHERWISE}."
        )
    # The classifier's weights are trained by packaging/train_default_model.sh; a generator's
    # (digits-chat) by its own recipe, which its model card names.
    train = (
        "train it from a source checkout (its model card gives the command)"
        if entry.task == "generation"
        else "train the weights from a source checkout with "
        "<code>packaging/train_default_model.sh</code>"
    )
    return (
        f"<b>The built-in model “{name}” has no trained weights in this installation</b> "
        f"(expected <code>{escape(entry.location)}/model.safetensors</code>: {problem}). "
        "Nothing is predicted until a trained model is loaded: mmstudio never shows an "
        f"untrained network's guesses. Reinstall mmstudio, {train}, {_OTHERWISE}."
    )


def unavailable_label(entry: ModelEntry) -> str:
    """A few words for the model menu and the status bar."""
    return {"plugin": "failed to import", "zero-shot": "weights not in cache"}.get(
        entry.kind, "weights missing"
    )

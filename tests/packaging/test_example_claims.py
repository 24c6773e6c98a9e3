"""packaging/example_claims.py, the lead's tool after retraining digits-chat: it prints what each
generative example's explained answer shows, says which claims fail, and with --update writes
the observed values into the claims (not the notes) of a real examples.json."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from mmstudio.models.registry import get_entry
from mmstudio.resources import samples_dir
from tests.conftest import require_or_skip

SCRIPT = Path(__file__).resolve().parents[2] / "packaging" / "example_claims.py"


def _script():
    spec = importlib.util.spec_from_file_location("example_claims", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_update_writes_the_observed_claims_and_lists_the_notes_to_rewrite(tmp_path, capsys):
    require_or_skip(get_entry("digits-chat").available, "the shipped digits-chat is missing")
    samples = tmp_path / "samples"
    samples.mkdir()
    shutil.copy2(samples_dir() / "digit_7.png", samples)
    classifier = {"name": "a classifier's", "image": "digit_7.png", "audio": None, "text": None}
    example = {
        "name": "missing voice",
        "model": "digits-chat",
        "image": "digit_7.png",
        "audio": None,
        "text": "What do the image and the voice add up to?",
        "note": "the note stays as written",
        # Claims no answer can meet: the image's number word is not "nineteen".
        "claims": {"number_words": ["nineteen"], "number_shapley": {"image": "negative"}},
    }
    index = samples / "examples.json"
    index.write_text(json.dumps([classifier, example]), encoding="utf-8")
    script = _script()

    assert script.main(["--samples", str(samples)]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("== missing voice\n") and "a classifier's" not in printed
    assert "   FAILS number_words: claimed ['nineteen'], observed [" in printed
    assert json.loads(index.read_text(encoding="utf-8"))[1] == example  # nothing written

    assert script.main(["--samples", str(samples), "--update"]) == 1
    assert "rewrite the notes of: missing voice" in capsys.readouterr().out
    written = json.loads(index.read_text(encoding="utf-8"))
    assert written[0] == classifier
    assert written[1]["note"] == example["note"]
    assert list(written[1]["claims"]) == ["number_words", "number_shapley"]
    assert "nineteen" not in written[1]["claims"]["number_words"]

    assert script.main(["--samples", str(samples)]) == 0
    assert "FAILS" not in capsys.readouterr().out

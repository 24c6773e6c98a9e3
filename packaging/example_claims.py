"""Run every generative example of resources/samples/examples.json on its model and print what
its explained answer shows: the facts its ``claims`` may name (mmstudio.analysis.answer_claims).

After retraining digits-chat, this is how the examples' notes and claims are brought up to date:

    python packaging/example_claims.py             # each example's facts, and which claims fail
    python packaging/example_claims.py --update    # also rewrite the claimed values in place

``--update`` keeps each example's claim names and writes the observed values into them; the
notes are prose, so the ones whose claims changed are listed to be rewritten by hand. The
exit status is 1 while any claim fails (before --update rewrote it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mmstudio.analysis.answer_claims import failed_claims, observed_facts
from mmstudio.gui.inputs.examples import Example, decode_example, load_examples
from mmstudio.resources import samples_dir
from mmstudio.studio import Studio


def example_sample(example: Example):
    """The sample the window analyses for ``example``: its files decoded as the Examples menu
    decodes them, the text normalised as the studio does."""
    decoded = decode_example(example)
    if decoded.problems:
        raise ValueError(f"the example {example.name!r}: {'; '.join(decoded.problems)}")
    studio = Studio(example.model)
    with studio.batch():
        studio.set_image(decoded.image)
        studio.set_text(example.text or "")
        studio.set_audio(decoded.audio)
    return studio.sample()


def explain_examples(examples: list[Example], device: str = "cpu") -> dict[str, Any]:
    """Each generative example's explained answer (a GenerationAnalysis) by name, every model
    loaded once, the answers decoded greedily as the window does by default."""
    from mmstudio.analysis.analyzer import load_analyzer

    analyzers: dict[str, Any] = {}
    analyses = {}
    for example in examples:
        if example.model is None:
            continue
        if example.model not in analyzers:
            analyzers[example.model] = load_analyzer(example.model, device)
        analyses[example.name] = analyzers[example.model].generate(
            example_sample(example), maps=False
        )
    return analyses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--samples", type=Path, help="the folder of examples.json (the shipped samples)"
    )
    parser.add_argument("--update", action="store_true", help="write the observed values")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    folder = args.samples or samples_dir()
    examples, problem = load_examples(folder)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    index = folder / "examples.json"
    entries = json.loads(index.read_text(encoding="utf-8"))
    by_name = {entry.get("name"): entry for entry in entries if isinstance(entry, dict)}
    analyses = explain_examples(examples, args.device)
    failing, renote = 0, []
    for name, analysis in analyses.items():
        facts = observed_facts(analysis)
        claims = by_name[name].get("claims") or {}
        failures = failed_claims(claims, facts)
        failing += bool(failures)
        print(f"== {name}")
        print(json.dumps(facts, indent=2, ensure_ascii=False))
        for failure in failures:
            print(f"   FAILS {failure}")
        if args.update and failures:
            by_name[name]["claims"] = {c: facts[c] for c in claims if c in facts}
            renote.append(name)
    if args.update and renote:
        index.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(f"updated the claims in {index}; rewrite the notes of: {', '.join(renote)}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())

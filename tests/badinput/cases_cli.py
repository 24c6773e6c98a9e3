"""Class 5: odd command lines. Every mistake is a one-line message naming the option or file."""

from __future__ import annotations

from pathlib import Path

from tests.badinput import files
from tests.badinput.builders import args_case, predict
from tests.badinput.case import Case


def _image(folder: Path) -> str:
    return str(files.save_picture(folder / "digit.png", files.digit_picture()))


def _audio(folder: Path) -> str:
    return str(files.write_sound(folder / "tone.wav", files.tone(1.0)))


def _case(name, args, expect, names=None) -> Case:
    return args_case(name, "cli", args, expect, names)


def _heatmaps_into_a_file(folder: Path) -> list[str]:
    blocker = folder / "taken"
    blocker.write_text("a file where the folder should go")
    return predict("--image", _image(folder), "--heatmaps", str(blocker))


def _heatmaps_under_a_file(folder: Path) -> list[str]:
    blocker = folder / "plain"
    blocker.write_text("x")
    return predict("--image", _image(folder), "--heatmaps", str(blocker / "maps"))


def _long_text_file(folder: Path) -> list[str]:
    path = folder / "essay.txt"
    path.write_text("it is a seven. " * 60_000, "utf-8")  # 900 kB: over any argument limit
    return predict("--text-file", str(path))


CASES: list[Case] = [
    _case("--top 0", lambda f: ["predict", "--text", "seven", "--top", "0"], "error", "--top"),
    _case("--top -3", lambda f: ["predict", "--text", "seven", "--top", "-3"], "error", "--top"),
    _case("--top abc", lambda f: ["predict", "--text", "seven", "--top", "abc"], "error", "--top"),
    _case("--top 2.5", lambda f: ["predict", "--text", "seven", "--top", "2.5"], "error", "--top"),
    _case("--top 1", lambda f: ["predict", "--text", "seven", "--top", "1"], "accepted"),
    _case(
        "--top 1000 lists every label",
        lambda f: ["predict", "--text", "seven", "--top", "1000"],
        "accepted",
    ),
    _case("no input at all", lambda f: ["predict"], "error", "--image"),
    _case("empty --text", lambda f: predict("--text", ""), "error", "--text"),
    _case(
        "--text-file that does not exist",
        lambda f: predict("--text-file", str(f / "missing.txt")),
        "error",
        "missing.txt",
    ),
    _case(
        "--text-file that is a folder", lambda f: predict("--text-file", str(f)), "error", "folder"
    ),
    _case("--text-file of 900 kB", _long_text_file, "noted", "truncated"),
    _case(
        "--text and --text-file together",
        lambda f: predict("--text", "seven", "--text-file", str(f / "x.txt")),
        "error",
        "--text-file",
    ),
    _case(
        "--image that does not exist",
        lambda f: predict("--image", str(f / "nowhere.png")),
        "error",
        "nowhere.png",
    ),
    _case(
        "--audio that does not exist",
        lambda f: predict("--audio", str(f / "nowhere.wav")),
        "error",
        "nowhere.wav",
    ),
    _case("--image given a folder", lambda f: predict("--image", str(f)), "error", "folder"),
    _case("--audio given an image", lambda f: predict("--audio", _image(f)), "error", "digit.png"),
    _case("--image given audio", lambda f: predict("--image", _audio(f)), "error", "tone.wav"),
    _case("--heatmaps pointing at a file", _heatmaps_into_a_file, "error", "taken"),
    _case("--heatmaps under a file", _heatmaps_under_a_file, "error", "plain"),
    _case(
        "--heatmaps into a new nested folder",
        lambda f: predict("--image", _image(f), "--heatmaps", str(f / "a" / "b" / "maps")),
        "accepted",
    ),
    _case(
        "--full-heatmaps", lambda f: predict("--image", _image(f), "--full-heatmaps"), "accepted"
    ),
    _case(
        "--model that does not exist",
        lambda f: predict("--text", "seven", "--model", str(f / "nomodel")),
        "error",
        "nomodel",
    ),
    _case(
        "--model of an unknown name",
        lambda f: predict("--text", "seven", "--model", "no-such-model"),
        "error",
        "no-such-model",
    ),
    _case(
        "--device bogus",
        lambda f: predict("--text", "seven", "--device", "bogus"),
        "error",
        "--device",
    ),
    _case(
        "--device cuda:7",
        lambda f: predict("--text", "seven", "--device", "cuda:7"),
        "error",
        "--device",
    ),
    _case(
        "--labels for a fixed-label model",
        lambda f: predict("--text", "seven", "--labels", "a, b"),
        "error",
        "--labels",
    ),
    _case(
        "unknown option",
        lambda f: ["predict", "--text", "seven", "--colour", "red"],
        "error",
        "--colour",
    ),
    _case("unknown command", lambda f: ["predikt", "--text", "seven"], "error", "predikt"),
    _case("predict --help", lambda f: ["predict", "--help"], "accepted"),
    _case("--version", lambda f: ["--version"], "accepted"),
    _case("models", lambda f: ["models"], "accepted"),
    _case(
        "all three inputs",
        lambda f: predict("--image", _image(f), "--text", "seven", "--audio", _audio(f)),
        "accepted",
    ),
    _case("text given as a path-like word", lambda f: predict("--text", "./seven.png"), "accepted"),
]

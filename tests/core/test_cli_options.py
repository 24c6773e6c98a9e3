"""Every command-line option does something: the zero-shot options exist only where they act."""

from __future__ import annotations

import pytest

from mmstudio.cli import build_parser


@pytest.mark.parametrize("option", [["--labels", "dog, cat"], ["--allow-download"]])
def test_the_window_refuses_zero_shot_options_it_would_ignore(option, capsys):
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(["gui", *option])
    assert raised.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_predict_keeps_the_zero_shot_options():
    args = build_parser().parse_args(
        ["predict", "--text", "a dog", "--labels", "dog, cat", "--allow-download"]
    )
    assert args.labels == "dog, cat" and args.allow_download

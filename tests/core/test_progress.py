"""The command line's progress bars: one per stage, drawn from a run's generator, every bar
and the generator closed on the way out."""

from __future__ import annotations

import pytest

from mmstudio.progress import TerminalProgress, run_steps


def _stages(log: list):
    try:
        yield "swap test", 0, 0
        yield "swap test", 3, 4
        yield "swap test", 4, 4
        yield "faithfulness", 1, 2
        return {"sections": 2}
    finally:
        log.append("generator closed")


def test_each_stage_has_its_own_bar_and_the_generators_value_comes_back(capsys):
    log = []
    with TerminalProgress("rec") as bars:

        def draw(step):
            stage, done, total = step
            bars.show(done, total, stage=stage)
            log.append((bars.stage, bars.bar.n, bars.bar.total))

        assert run_steps(_stages(log), draw) == {"sections": 2}
    assert log == [
        ("swap test", 0, 0),
        ("swap test", 3, 4),
        ("swap test", 4, 4),
        ("faithfulness", 1, 2),
        "generator closed",
    ]
    assert bars.bar is None
    drawn = capsys.readouterr().err
    assert drawn.index("swap test: 100%") < drawn.index("faithfulness:")
    assert "4/4" in drawn and "1/2" in drawn


def test_an_interrupt_while_drawing_closes_the_generator_and_the_bar(capsys):
    log = []
    with pytest.raises(KeyboardInterrupt), TerminalProgress("rec") as bars:

        def draw(step):
            stage, done, total = step
            bars.show(done, total, stage=stage)
            if done == 3:
                raise KeyboardInterrupt

        run_steps(_stages(log), draw)
    assert log == ["generator closed"] and bars.bar is None
    assert "3/4" in capsys.readouterr().err


def test_a_resumed_run_starts_its_bar_at_the_rows_already_done(capsys):
    with TerminalProgress("rec") as bar:
        bar.show(40, 100, stage="analysing", start=40, errors=0)
        assert bar.bar.n == 40
        bar.show(45, 100, stage="analysing", start=40, errors=1)
        bar.write("a line above the bar")
        assert bar.bar.n == 45
    drawn = capsys.readouterr()
    assert "45/100" in drawn.err and "errors=1" in drawn.err
    assert "a line above the bar" in drawn.out + drawn.err


def test_run_steps_without_a_drawing_returns_the_value():
    log = []
    assert run_steps(_stages(log)) == {"sections": 2} and log == ["generator closed"]

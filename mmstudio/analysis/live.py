"""Live analysis without Qt: what one live tick asks of the model, and how ticks are paced.

A classifier analyses the newest frame as fast as it can (the live lane keeps the newest frame
waiting, see gui/service/latest.py). A generative model answers the typed question about the
newest frame and audio window, explained token by token, which takes far longer than a camera
frame: :class:`OneAtATime` lets one answer be out at a time and skips every tick that comes
while it is, so nothing waits and each answer is of the inputs as they were when it began.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace

from mmstudio.inputs.sample import Sample
from mmstudio.models.generative.options import GenerationOptions
from mmstudio.result import AnyAnalysis


def analyze_live(
    analyzer,
    sample: Sample,
    options: GenerationOptions | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> AnyAnalysis:
    """The analysis one live tick shows: a classifier's prediction, or a generative model's
    answer explained per token as the single-shot path explains it (the same
    ``GenerationAnalysis``). ``should_stop`` ends a generation at its next token (live mode
    stopped); its answer then comes back unexplained, ``finished == "stopped"``."""
    if not analyzer.generates:
        return analyzer.analyze(sample)
    # Contrastive answers are one more generation per modality, and the live view has no
    # place for them: every tick would cost several answers for one shown.
    chosen = replace(options or GenerationOptions(), contrastive=False)
    return analyzer.generate(sample, chosen, should_stop=should_stop)


class OneAtATime:
    """Lets one request be out at a time; a tick that comes while one is out is skipped.

    :meth:`begin` hands out a ticket (None while busy, and the tick is counted as skipped);
    :meth:`end` takes the ticket back when its result arrives. :meth:`reset` forgets the
    request that is out (live mode stopped or restarted): its late result's ticket no longer
    matches, so it is recognised as stale.
    """

    def __init__(self) -> None:
        self._tickets = itertools.count(1)
        self._out: int | None = None
        self.sent = 0
        self.skipped = 0

    @property
    def busy(self) -> bool:
        return self._out is not None

    def begin(self) -> int | None:
        if self._out is not None:
            self.skipped += 1
            return None
        self._out = next(self._tickets)
        self.sent += 1
        return self._out

    def end(self, ticket: int | None) -> bool:
        """True when ``ticket`` is the request out (not a stale one); the next tick may go."""
        if ticket is None or ticket != self._out:
            return False
        self._out = None
        return True

    def release(self) -> None:
        """The request out will never report (its work was dropped): the next tick may go."""
        self._out = None

    def reset(self) -> None:
        self._out = None
        self.sent = 0
        self.skipped = 0

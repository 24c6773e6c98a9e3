"""The window's comparison model ("Model ▸ Compare With…"), in the analysis thread.

It is loaded the first time a comparison needs it, on the device of the window's model, and
kept until another one is chosen: every comparison reuses the one copy. A model that cannot
be loaded is remembered as such, so a failure is reported once, not retried on every
analysis. No Qt: only jobs running in the service's worker thread call it.
"""

from __future__ import annotations

from mmstudio.inputs.errors import InputError
from mmstudio.models import registry

from .model_host import describe_error


class SecondModel:
    def __init__(self) -> None:
        self.analyzer = None
        self.loads = 0  # how many times a comparison model was loaded (tests count them)
        self._key: tuple[str, str] | None = None
        self._problem = ""

    def holds(self, spec: str, device) -> bool:
        return self._key == (spec, str(device))

    def get(self, spec: str, device):
        """The Analyzer of ``spec`` on ``device``, loaded now unless it already is.

        Raises InputError, with a message naming the comparison model, when it cannot load.
        """
        if not self.holds(spec, device):
            self._load(spec, device)
        if self.analyzer is None:
            raise InputError(self._problem)
        return self.analyzer

    def release(self) -> None:
        self.analyzer, self._key, self._problem = None, None, ""

    def _load(self, spec: str, device) -> None:
        from mmstudio.analysis import load_analyzer

        self.release()
        self._key = (spec, str(device))
        name = registry.short_name(spec)
        entry = next((e for e in registry.list_models() if e.name == spec), None)
        if entry is not None and not entry.available:
            self._problem = f"the comparison model “{name}” cannot be loaded: {entry.problem}"
            return
        try:
            self.analyzer = load_analyzer(spec, device)
        except Exception as error:  # a broken folder must not touch the window's own model
            context = f"the comparison model “{name}” could not be loaded"
            self._problem = (
                f"{context}: {error}"
                if isinstance(error, InputError)
                else describe_error(error, context)
            )
            return
        self.loads += 1

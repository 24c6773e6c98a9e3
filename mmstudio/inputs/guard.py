"""The one place a decoder's exception becomes an InputError (see failures.py for the kinds)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from .chatter import log, quiet_decoders
from .errors import InputError
from .failures import Kind, classify

# From the table's kind, the exception and the decoders' stderr text: the kind (a loader that
# reads the file's header may know better, e.g. a BMP field no valid file has) and the message.
Explain = Callable[[Kind, BaseException, str], tuple[Kind, str]]


@contextlib.contextmanager
def decoding(label: str, explain: Explain) -> Iterator[None]:
    """Run a decode with the C decoders' stderr captured; any exception but an InputError
    leaves as an InputError of the kind :func:`classify` gives it, the original as its cause
    (and, with ``--verbose``, in the log with its traceback)."""
    with quiet_decoders(label) as chatter:
        try:
            yield
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - every decoder failure is the user's file's
            said = chatter.read()
            kind, message = explain(classify(exc, said), exc, said)
            log.debug("decoding %s failed (%s)", label, kind.value, exc_info=exc)
            raise InputError(message, label, kind=kind) from exc

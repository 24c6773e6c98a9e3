"""A generation's tokens on their way to the window: however fast the worker adds them, at most
one delivery waits for the GUI thread, and the deliveries show every token, in order, as the
final answer splits them."""

from __future__ import annotations

import queue
import threading

from transformers import AutoTokenizer

from mmstudio.gui.service.token_stream import TokenStream


def test_a_fast_worker_never_has_more_than_one_delivery_waiting(tiny_model_folders):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_folders["llava"], local_files_only=True)

    def decode(ids):
        return tokenizer.decode(list(ids), skip_special_tokens=True)

    ids = [i % 300 + 5 for i in range(0, 4000, 7)]
    stream = TokenStream()
    posted: queue.Queue = queue.Queue()  # the GUI thread's event queue, deliveries only
    waiting_most = [0]

    def worker() -> None:
        stream.begin(7, decode)
        for token in ids:
            if stream.add(token):
                posted.put("deliver")
                waiting_most[0] = max(waiting_most[0], posted.qsize())
        posted.put("done")

    thread = threading.Thread(target=worker)
    thread.start()
    seen: list[tuple[str, ...]] = []
    while posted.get(timeout=60) != "done":
        streamed = stream.take()
        assert streamed is not None and streamed.request_id == 7
        seen.append(streamed.pieces)
    thread.join()
    # Every token came with a delivery posted after it: none is left behind.
    assert stream.take() is None
    assert 1 <= len(seen) and waiting_most[0] <= 1
    assert len(seen) < len(ids)  # coalesced: fewer deliveries than tokens
    lengths = [len(pieces) for pieces in seen]
    assert lengths == sorted(set(lengths)) and lengths[-1] == len(ids)
    # Every delivery is a prefix of the next, and the last is the answer split as the model's
    # token_texts splits it: the pieces join to the decoded answer.
    for shorter, longer in zip(seen, seen[1:], strict=False):
        assert longer[: len(shorter)] == shorter
    assert "".join(seen[-1]) == decode(ids)


def test_nothing_new_means_no_delivery():
    stream = TokenStream()
    assert stream.take() is None
    stream.begin(1, lambda ids: " ".join(map(str, ids)))
    assert stream.add(3) is True
    assert stream.add(4) is False  # joins the delivery already posted
    assert stream.take().pieces == ("3", " 4")
    assert stream.take() is None
    # A new generation after a delivery was posted brings its own tokens with that delivery.
    assert stream.add(5) is True
    stream.begin(2, lambda ids: "".join(map(str, ids)))
    assert stream.take() is None  # posted for request 1, nothing of request 2 yet
    assert stream.add(9) is True
    streamed = stream.take()
    assert (streamed.request_id, streamed.pieces, streamed.index) == (2, ("9",), 0)

"""Batch frames of /admin/ws: built by joining already serialised frames, split before they get too big."""

from __future__ import annotations

import json

from pentagon.admin.live import control_frame, pack_frames, update_frame
from pentagon.common.proto import events_pb2 as pb


def frame(seq: int, content: str) -> str:
    event = pb.UpdateEvent(event_id=f"e{seq}", kind=pb.UPDATE_MESSAGE_CREATED, conversation_id=3,
                           row_json=json.dumps({"id": seq, "content": content}, ensure_ascii=False))
    text = update_frame(seq, event.SerializeToString())
    assert text is not None
    return text


def test_one_frame_is_sent_unchanged():
    text = frame(1, "hello")
    assert pack_frames([text]) == [text]
    assert pack_frames([]) == []


def test_several_frames_become_one_batch_with_the_same_frames_in_order():
    texts = [frame(1, "ကော်ဖီ ☕"), control_frame("heartbeat", ts="2026-01-15T10:00:00.000000Z"),
             frame(2, 'quote " and \\ backslash'), frame(3, "")]
    [batch] = pack_frames(texts)
    decoded = json.loads(batch)
    assert decoded == {"type": "batch", "frames": [json.loads(t) for t in texts]}
    assert [f.get("seq") for f in decoded["frames"]] == [1, None, 2, 3]


def test_batches_are_split_by_size_and_an_oversized_frame_goes_alone():
    texts = [frame(i, "x" * 80) for i in range(1, 6)]
    size = len(texts[0])
    messages = pack_frames(texts, max_chars=2 * size + 10)
    assert [len(json.loads(m).get("frames", [None])) for m in messages] == [2, 2, 1]
    assert messages[-1] == texts[-1]  # the remainder of one frame is not wrapped
    unpacked = [f for m in messages for f in json.loads(m).get("frames", [json.loads(m)])]
    assert [f["seq"] for f in unpacked] == [1, 2, 3, 4, 5]
    big = frame(9, "y" * 1000)
    assert pack_frames([texts[0], big, texts[1]], max_chars=500) == [texts[0], big, texts[1]]

import json
import logging
from datetime import datetime, timedelta, timezone

from pentagon.common.jsonrow import iso, row_to_dict
from pentagon.common.logging import JsonFormatter
from pentagon.common.settings import split_addr


def test_iso_is_utc_with_z() -> None:
    yangon = timezone(timedelta(hours=6, minutes=30))
    assert iso(datetime(2026, 1, 15, 17, 0, tzinfo=yangon)) == "2026-01-15T10:30:00.000000Z"
    assert iso(None) is None


def test_row_to_dict_parses_jsonb_text() -> None:
    row = {"id": 1, "metadata": '{"a": "မ"}', "content": "{not json}"}
    assert row_to_dict(row) == {"id": 1, "metadata": {"a": "မ"}, "content": "{not json}"}


def test_log_lines_are_single_json_objects_with_ids() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "stored %s", ("batch",), None)
    record.event_id = "e1"
    record.conversation_id = 7
    line = JsonFormatter("tracking").format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "stored batch" and entry["event_id"] == "e1" and entry["conversation_id"] == 7
    assert entry["service"] == "tracking" and entry["ts"].endswith("Z")


def test_split_addr() -> None:
    assert split_addr("127.0.0.1:8001") == ("127.0.0.1", 8001)
    assert split_addr("[::1]:80") == ("::1", 80)
    assert split_addr(":9000") == ("0.0.0.0", 9000)

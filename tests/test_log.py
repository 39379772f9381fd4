import io
import json

import structlog

from callcenter.log import configure_logging, mask_number
from callcenter.log_settings import LoggingSettings


def capture(fmt: str, secrets: tuple[str, ...] = ()) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(LoggingSettings(format=fmt, level="debug"), secrets=secrets, stream=stream)  # type: ignore[arg-type]
    return stream


def test_json_lines_mask_numbers_and_hide_secrets() -> None:
    stream = capture("json", secrets=("topsecret",))
    log = structlog.get_logger("t")
    log.info(
        "login sent",
        secret="topsecret",
        detail="Action: Login Secret: topsecret",
        caller_number="+86 138-0013-8000",
        call_id="1795731524.0",
        note="caller 13800138000 waited",
    )
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert "topsecret" not in stream.getvalue()
    assert line["secret"] == "***"
    assert line["caller_number"] == "***8000"
    assert line["call_id"] == "1795731524.0"
    assert line["note"] == "caller ***8000 waited"
    assert "13800138000" not in stream.getvalue()


def test_console_lines_are_masked_too() -> None:
    stream = capture("console")
    structlog.get_logger("t").info("call", caller="02163331234")
    assert "02163331234" not in stream.getvalue()
    assert "***1234" in stream.getvalue()


def test_uniqueids_are_not_taken_for_phone_numbers() -> None:
    stream = capture("json")
    structlog.get_logger("t").info("event", detail="channel 1795731524.12 up")
    assert "1795731524.12" in stream.getvalue()


def test_mask_number_keeps_last_four() -> None:
    assert mask_number("13800138000") == "***8000"
    assert mask_number("1001") == "1001"


def test_call_line_is_readable_and_masks_the_caller() -> None:
    from zoneinfo import ZoneInfo

    from callcenter.core.call_record import CallRecord
    from callcenter.service import format_call_line

    record = CallRecord(
        pbx="main",
        call_id="1795741244.5",
        hotline="4008001000",
        caller_number="16888611783",
        started_at=1795741244.1,
        queue="repair",
        outcome="answered",
        wait_s=4.7,
        agent="Agent 1017",
        talk_s=50.0,
    )
    line = format_call_line(record, ZoneInfo("Asia/Shanghai"))
    assert "16888611783" not in line
    assert "***1783" in line
    assert "answered" in line and "agent Agent 1017" in line and "wait 5s" in line
    assert line.startswith("09:")  # 1795741244 is 09:00:44 in Shanghai

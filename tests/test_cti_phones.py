"""Phone numbers written every which way reduce to one lookup key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.cti.phones import PhoneError, lookup_key, normalize


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+86-13812345678",
        "0086 13812345678",
        "8613812345678",
        "013812345678",  # trunk prefix before an out-of-town mobile
        "１３８１２３４５６７８",  # full-width digits from a Chinese input method
    ],
)
def test_mobile_spellings_share_one_key(raw: str) -> None:
    phone = normalize(raw)
    assert (phone.key, phone.kind, phone.extension) == ("13812345678", "mobile", "")


@pytest.mark.parametrize(
    ("raw", "extension"),
    [
        ("021-61234567", ""),
        ("(021) 6123-4567", ""),
        ("（021）61234567", ""),
        ("+86 21 6123 4567", ""),
        ("0086-21-61234567", ""),
        ("021 6123 4567", ""),
        ("021-61234567-801", "801"),
        ("021-61234567 转 801", "801"),
        ("021 6123 4567 ext. 801", "801"),
        ("02161234567x801", "801"),
        ("02161234567#801", "801"),
    ],
)
def test_landline_spellings_share_one_key(raw: str, extension: str) -> None:
    phone = normalize(raw)
    assert (phone.key, phone.kind, phone.extension) == ("02161234567", "landline", extension)


def test_local_numbers_take_the_configured_area_code() -> None:
    assert normalize("6123 4567", default_area_code="21").key == "02161234567"
    assert normalize("6123-4567-801", default_area_code="21").extension == "801"
    assert normalize("61234567").key == "61234567"  # no area code configured: kept as is


def test_three_digit_area_codes_and_beijing() -> None:
    assert normalize("0755-8888 8888").key == "075588888888"
    assert normalize("010-12345678").key == "01012345678"
    assert normalize("+86 10 1234 5678").key == "01012345678"


def test_service_and_foreign_numbers() -> None:
    assert normalize("400-800-1000").key == "4008001000"
    assert normalize("+86 400 800 1000").key == "4008001000"
    assert normalize("95588").kind == "service"
    assert normalize("+44 20 7946 0958").key == "+442079460958"
    assert normalize("001 212 555 0100").key == "+12125550100"


@pytest.mark.parametrize(
    ("raw", "reason", "zh"),
    [
        ("", "enter a phone number", "请输入号码"),
        ("abc", "unexpected character", "号码中不能有“a”"),
        ("138123", "not a Chinese phone number", "不是有效的国内号码（6 位，138…）"),
        ("1381234567890123", "not a Chinese phone number", "不是有效的国内号码"),
        ("+86", "no digits", "国家代码后面没有号码"),
        ("+1 23", "7-15 digits", "国际号码应为 7-15 位数字，这里是 3 位"),
    ],
)
def test_bad_numbers_say_what_is_wrong_in_both_languages(raw: str, reason: str, zh: str) -> None:
    with pytest.raises(PhoneError, match=reason) as refused:
        normalize(raw)
    assert refused.value.zh.startswith(zh) and reason in refused.value.en


def test_caller_ids_that_are_not_numbers_look_up_nothing() -> None:
    assert lookup_key("anonymous") is None
    assert lookup_key("") is None
    assert lookup_key("+8613812345678") == "13812345678"


mobiles = st.builds(
    lambda second, rest: f"1{second}{rest:09d}",
    st.sampled_from("3456789"),
    st.integers(0, 10**9 - 1),
)


@given(mobiles, st.sampled_from(["", "+86", "0086", "86", "0"]), st.sampled_from(["", " ", "-"]))
def test_any_mobile_any_prefix_any_separator(mobile: str, prefix: str, sep: str) -> None:
    spaced = sep.join([mobile[:3], mobile[3:7], mobile[7:]])
    joiner = " " if prefix.startswith(("+", "00")) and sep else ""
    assert normalize(f"{prefix}{joiner}{spaced}").key == mobile


@given(
    st.sampled_from(["10", "21", "755", "571"]),
    st.integers(2_000_000, 99_999_999),
    st.sampled_from(["", "+86 ", "0086 "]),
)
def test_any_landline_with_or_without_country_code(area: str, local: int, prefix: str) -> None:
    number = str(local)
    national = f"0{area}{number}"
    if not 10 <= len(national) <= 12:
        return
    written = f"{prefix}{area if prefix else '0' + area}-{number}"
    assert normalize(written).key == national

"""Owner search by name, unit, code or number, and what a result shows (pure)."""

from __future__ import annotations

import pytest

from callcenter.cti.owner_search import SearchRefused, clean_query, search_owners, summary
from callcenter.cti.owners import Owner, PhoneEntry, Unit

OWNERS = [
    Owner(1, "A001", "张三", zone="东区", units=(Unit("3栋", "2单元", "1201"),),
          phones=(PhoneEntry("13812345678"),), arrears_cents=12000, notes="腿脚不便"),
    Owner(2, "A002", "张三丰", units=(Unit("5栋", "", "301"),), phones=(PhoneEntry("13900001111"),)),
    Owner(3, "B003", "Li Si", units=(Unit("3栋", "1单元", "101"),), phones=(PhoneEntry("02161234567"),)),
]  # fmt: skip


def ids(query: str, limit: int = 10) -> list[int]:
    return [o.id for o in search_owners(OWNERS, clean_query(query), limit=limit).owners]


def test_by_name_exact_first_by_unit_code_and_number() -> None:
    assert ids("张三") == [1, 2]
    assert ids("张三丰") == [2]
    assert ids("li si") == [3]
    assert ids("3栋") == [1, 3]
    assert ids("3栋-2单元") == [1]
    assert ids("b003") == [3]
    assert ids("+86 138 1234 5678") == [1]
    assert ids("021-6123 4567") == [3]
    assert ids("1111") == [2]  # the last digits of a number


def test_a_whole_number_asks_the_index_instead_of_walking_everyone() -> None:
    asked: list[str] = []

    def by_number(number: str) -> tuple[Owner, ...]:
        asked.append(number)
        return (OWNERS[1],)

    found = search_owners(OWNERS, "139 0000 1111", limit=5, by_number=by_number)
    assert [o.id for o in found.owners] == [2] and asked == ["139 0000 1111"]
    assert [o.id for o in search_owners(OWNERS, "1111", limit=5, by_number=by_number).owners] == [2]
    assert asked == ["139 0000 1111"]  # a number's last digits are looked for by walking


def test_a_surname_alone_is_searched_one_letter_or_digit_is_refused_in_words() -> None:
    assert ids(" 张 ") == [1, 2]
    for query in ("l", " 7 ", "", "   "):
        with pytest.raises(SearchRefused) as refused:
            clean_query(query)
        assert "q" not in refused.value.zh and refused.value.zh.startswith("请")
    with pytest.raises(SearchRefused) as refused:
        clean_query("x")
    assert refused.value.zh == "请至少输入 2 个字母或数字，或一个汉字（如姓氏）"
    assert refused.value.en == "Type at least 2 letters or digits, or one Chinese character"


def test_long_results_are_cut() -> None:
    found = search_owners(OWNERS, "3栋", limit=1)
    assert [o.id for o in found.owners] == [1] and found.more


def test_a_result_shows_no_arrears_notes_or_whole_numbers() -> None:
    shown = summary(OWNERS[0])
    assert shown == {"id": 1, "name": "张三", "zone": "东区", "vip": False,
                     "units": ["3栋-2单元-1201"], "phones": ["***5678"]}  # fmt: skip

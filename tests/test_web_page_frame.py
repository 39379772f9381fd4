"""The site's frame: each role's home and the navigation bar's links per user."""

from __future__ import annotations

import pytest

from callcenter.web.page_frame import NavLink, home_of, visible_links
from callcenter.web.security import Role, User

LINKS = [
    NavLink("/seat", "坐席", "Seat", ("agent", "supervisor", "admin"), needs_seat=True),
    NavLink("/wallboard", "监控大屏", "Wallboard", ("supervisor", "admin")),
    NavLink("/recordings", "录音", "Recordings", ("agent", "supervisor", "admin")),
    NavLink("/admin", "管理", "Administration", ("admin",)),
]


@pytest.mark.parametrize(
    ("role", "home"), [("agent", "/seat"), ("supervisor", "/wallboard"), ("admin", "/admin")]
)
def test_each_role_has_a_home(role: Role, home: str) -> None:
    assert home_of(User(1, "x", role)) == home


@pytest.mark.parametrize(
    ("role", "interface", "paths"),
    [
        ("agent", "PJSIP/1001", ["/seat", "/recordings"]),
        ("agent", "", ["/seat", "/recordings"]),  # an agent's home, seat or not
        ("supervisor", "", ["/wallboard", "/recordings"]),  # no seat: no seat page
        ("supervisor", "PJSIP/1009", ["/seat", "/wallboard", "/recordings"]),
        ("admin", "", ["/wallboard", "/recordings", "/admin"]),
    ],
)
def test_the_bar_shows_what_the_role_may_open(role: Role, interface: str, paths: list[str]) -> None:
    user = User(1, "x", role, interface=interface)
    assert [link.path for link in visible_links(LINKS, user)] == paths

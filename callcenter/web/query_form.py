"""The GET form a report page opens with (its choices go back in the address, so a view
can be bookmarked and shared), and the end of such a page when its query was refused."""

from __future__ import annotations

import html
from collections.abc import Mapping

from callcenter.core.i18n import Lang

__all__ = ["date_inputs", "query_form", "refused_end"]


def query_form(
    action: str, lang: Lang, fields: str, button: str, hidden: Mapping[str, str] | None = None
) -> str:
    """A GET form to ``action`` keeping the page's language (and ``hidden``), with ``fields``
    (HTML) and a submit ``button`` labelled as given."""
    e = html.escape
    kept = "".join(
        f'<input type="hidden" name="{e(name)}" value="{e(value)}">'
        for name, value in {"lang": lang, **(hidden or {})}.items()
    )
    return (
        f'<form method="get" action="{e(action)}">{kept}{fields}'
        f'<button type="submit">{e(button)}</button></form>'
    )


def date_inputs(query: Mapping[str, str], from_label: str, to_label: str) -> str:
    """The first and last day of a range, as the query had them (``from``, ``to``)."""
    e = html.escape
    return "".join(
        f'<label>{e(label)} <input type="date" name="{name}" value="{e(query.get(name, ""))}">'
        "</label> "
        for name, label in (("from", from_label), ("to", to_label))
    )


def refused_end(error: str) -> str:
    """Why the query was refused, closing the form's section and the page."""
    return f'<p class="error" role="alert">{html.escape(error)}</p></section></main></body></html>'

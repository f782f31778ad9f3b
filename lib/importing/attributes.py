"""Customer attributes: an order file's extra columns (e-mail, phone, member level, region …) kept per customer.

Why a module of its own: a CRM takes a segment list as it is, so the list must carry
what the shop's export knew about each customer. Columns of an order file that map to
no known field used to be dropped at import; now each is kept as an attribute of the
customer — the latest non-empty value by order time — in the workspace table
``customer_attributes`` (long form: one row per customer and attribute), and the
segment exports and the Segments page's list append them after the standard columns.

The importer calls this module in two places only: :func:`stage` on the rows it
accepted (customer id, order time, line and the extra columns — any relation DuckDB
can scan: a pandas frame today, a DuckDB relation tomorrow) and :func:`commit` inside
the import's transaction. The work is SQL on those rows; attribute names are bound
parameters or code-made aliases (``a0``, ``a1``…), never SQL text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas only where a page asks for a frame: an import does not load it
    import pandas as pd

    from lib.sql_engine import QueryTarget
    from lib.workspace import Workspace

#: At most this many extra columns are kept (a wider file keeps its first ones).
MAX_ATTRIBUTES = 40
#: Longer values are cut to this many characters.
MAX_VALUE_CHARS = 1000
#: Columns of the staged rows that are not attributes.
KEY_COLUMNS: tuple[str, ...] = ("customer_id", "order_ts", "line")


@dataclass(frozen=True)
class StagedAttributes:
    """The attributes an import would keep: ``names`` in file order and ``values`` (customer_id, position, value, seen_at)."""

    names: tuple[str, ...]
    values: pd.DataFrame

    @property
    def customers(self) -> int:
        return int(self.values["customer_id"].nunique()) if len(self.values) else 0


def attribute_columns(columns: Sequence[str], mapping: dict[str, Any]) -> list[str]:
    """The file's columns mapped to no field, in file order (at most :data:`MAX_ATTRIBUTES`)."""
    used = {str(v) for v in mapping.values() if isinstance(v, str) and v}
    kept = [c for c in columns if c not in used and str(c).strip()]
    return kept[:MAX_ATTRIBUTES]


def stage(con: Any, rows: Any, names: Sequence[str]) -> StagedAttributes | None:
    """Latest non-empty value per customer of each attribute column, from the accepted rows of an import.

    ``rows`` has :data:`KEY_COLUMNS` then one column per name in ``names`` (same order),
    as anything ``con`` (a private DuckDB connection) can register. Empty text and
    rows without a customer id are skipped; the latest order time wins, then the later
    line. Returns None when nothing is kept.
    """
    if not names:
        return None
    aliases = [f"a{i}" for i in range(len(names))]
    renamed = ", ".join(aliases)  # code-made aliases a0, a1, …: the relation's columns renamed by position
    as_text = ", ".join(f"CAST({a} AS VARCHAR) AS {a}" for a in aliases)
    con.register("staged_attribute_rows", rows)
    try:
        values = con.execute(
            f"""
            WITH s AS (
                SELECT * FROM staged_attribute_rows AS r(customer_id, order_ts, line, {renamed})
            ), long AS (
                UNPIVOT (SELECT customer_id, order_ts, line, {as_text} FROM s WHERE customer_id IS NOT NULL)
                ON {renamed} INTO NAME attr_alias VALUE raw
            )
            SELECT CAST(customer_id AS VARCHAR) AS customer_id,
                   CAST(substr(attr_alias, 2) AS INTEGER) AS position,
                   left(arg_max(trim(raw), (order_ts, line)), $max_chars) AS value,
                   max(order_ts) AS seen_at
            FROM long
            WHERE trim(raw) <> '' AND lower(trim(raw)) NOT IN ('nan', 'none', 'null', 'nat', '<na>')
            GROUP BY ALL
            ORDER BY customer_id, position
            """,
            {"max_chars": MAX_VALUE_CHARS},
        ).df()
    finally:
        con.unregister("staged_attribute_rows")
    if values.empty:
        return None
    return StagedAttributes(tuple(str(n) for n in names), values)


def commit(cur: Any, dataset_id: int, staged: StagedAttributes | None, *, replace: bool) -> None:
    """Store staged attributes in the dataset, inside the caller's (the import's) transaction.

    ``replace`` drops the dataset's attributes first (as its orders are replaced);
    otherwise a customer's attribute is updated when the file's value is at least as
    recent as the stored one, and added when new.
    """
    if replace:
        cur.execute("DELETE FROM customer_attributes WHERE dataset_id = ?", [dataset_id])
    if staged is None:
        return
    incoming = staged.values.assign(name=[staged.names[p] for p in staged.values["position"]])
    cur.register("incoming_attributes", incoming)
    try:
        cur.execute(
            "DELETE FROM customer_attributes AS a USING incoming_attributes AS i "
            "WHERE a.dataset_id = ? AND a.customer_id = i.customer_id AND a.name = i.name AND i.seen_at >= a.seen_at",
            [dataset_id],
        )
        cur.execute(
            "INSERT INTO customer_attributes (dataset_id, customer_id, name, position, value, seen_at) "
            "SELECT ?, i.customer_id, i.name, i.position, i.value, i.seen_at FROM incoming_attributes AS i "
            "WHERE NOT EXISTS (SELECT 1 FROM customer_attributes AS a "
            "                  WHERE a.dataset_id = ? AND a.customer_id = i.customer_id AND a.name = i.name)",
            [dataset_id, dataset_id],
        )
    finally:
        cur.unregister("incoming_attributes")


def names(ws: QueryTarget, dataset_id: object) -> list[str]:
    """The dataset's attribute names in the order their files had them (none for anything but a workspace dataset)."""
    from lib.workspace import Workspace  # at call time: lib.workspace imports this package

    if not isinstance(dataset_id, int) or not isinstance(ws, Workspace):
        return []
    rows = ws.query_rows(
        "SELECT name FROM customer_attributes WHERE dataset_id = ? GROUP BY name ORDER BY min(position), name",
        [dataset_id],
    )
    return [str(r[0]) for r in rows]


def join_sql(count: int, customer_expr: str) -> tuple[str, list[str]]:
    """A LEFT JOIN adding ``count`` attribute columns (``attr_0`` …) for ``customer_expr``, and their select list.

    The names are bound as ``$attr_name_<i>`` and the dataset as ``$attr_dataset`` (see :func:`join_params`).
    """
    if count == 0:
        return "", []
    pivots = ", ".join(f"max(value) FILTER (WHERE name = $attr_name_{i}) AS attr_{i}" for i in range(count))
    join = (f"LEFT JOIN (SELECT customer_id, {pivots} FROM customer_attributes WHERE dataset_id = $attr_dataset "
            f"GROUP BY customer_id) AS attrs ON attrs.customer_id = {customer_expr}")
    return join, [f"attrs.attr_{i}" for i in range(count)]


def join_params(dataset_id: int, attribute_names: Sequence[str]) -> dict[str, Any]:
    """The bound parameters of :func:`join_sql`."""
    if not attribute_names:
        return {}
    return {"attr_dataset": int(dataset_id), **{f"attr_name_{i}": n for i, n in enumerate(attribute_names)}}




def for_customers(ws: Workspace, dataset_id: int, customer_ids: Sequence[str]) -> pd.DataFrame:
    """The kept attributes of some customers, one column per name (in file order), for a page's member list.

    Columns ``customer_id`` then the attribute names; customers without attributes are absent.
    """
    import pandas as pd

    attribute_names = names(ws, dataset_id)
    if not attribute_names or not len(customer_ids):
        return pd.DataFrame({"customer_id": pd.Series([], dtype=object)})
    long = ws.query_df(
        "SELECT customer_id, name, value FROM customer_attributes "
        "WHERE dataset_id = $ds AND list_contains($ids, customer_id)",
        {"ds": int(dataset_id), "ids": [str(c) for c in customer_ids]},
    )
    wide = long.pivot(index="customer_id", columns="name", values="value") if len(long) else pd.DataFrame()
    wide = wide.reindex(columns=attribute_names)
    wide.columns.name = None
    return wide.reset_index().rename(columns={"index": "customer_id"})

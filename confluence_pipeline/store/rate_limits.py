"""The shared Confluence rate limit's state: one row per site in ``rate_limits`` (see migration 0009).

Every process that uses the pipeline's database reserves its requests' send times here, on the server's clock, so
that concurrent runs, sensors and commands together keep to the configured rate instead of each keeping to it.
"""

from __future__ import annotations

import psycopg

_NOW = "extract(epoch FROM clock_timestamp())"


def reserve(conn: psycopg.Connection, site: str, interval: float, tolerance: float) -> float:
    """Reserve the site's next request slot; returns the seconds to wait before sending (0 when it may go now).

    The generic cell rate algorithm: a request is due at ``next_at`` (or now, or when a pause ends, whichever is
    latest), and moves ``next_at`` on by ``interval``. ``tolerance`` lets a request go that much ahead of its slot,
    which allows bursts of ``1 + tolerance / interval`` requests after a quiet spell.

    Args:
        conn: an autocommit connection (the row lock lasts one statement).
        site: the site's key (its REST base URL, without user information).
        interval: seconds between requests at the configured rate (``1 / rate``).
        tolerance: seconds a request may go ahead of its slot (``(burst - 1) * interval``).
    """
    row = conn.execute(
        f"""INSERT INTO rate_limits AS r (site, next_at) VALUES (%(site)s, {_NOW} + %(interval)s)
            ON CONFLICT (site) DO UPDATE
                SET next_at = greatest(r.next_at, {_NOW}, r.paused_until) + %(interval)s
            RETURNING greatest(0, r.paused_until - {_NOW}, r.next_at - %(interval)s - %(tolerance)s - {_NOW})""",
        {"site": site, "interval": interval, "tolerance": tolerance},
    ).fetchone()
    return max(0.0, float(row[0])) if row is not None else 0.0


def pause(conn: psycopg.Connection, site: str, seconds: float, tolerance: float = 0.0) -> None:
    """Hold back every process's requests to the site for ``seconds`` from now (a 429's ``Retry-After``).

    When the pause ends, requests go on at the rate, each one :func:`reserve` interval after the last: the next slot
    moves to the pause's end plus the ``tolerance`` that ``reserve`` is given, so that no burst goes ahead of its slot
    right after a throttle.
    """
    conn.execute(
        f"""INSERT INTO rate_limits AS r (site, next_at, paused_until)
            VALUES (%(site)s, {_NOW} + %(seconds)s + %(tolerance)s, {_NOW} + %(seconds)s)
            ON CONFLICT (site) DO UPDATE
                SET paused_until = greatest(r.paused_until, {_NOW} + %(seconds)s),
                    next_at = greatest(r.next_at, {_NOW} + %(seconds)s + %(tolerance)s)""",
        {"site": site, "seconds": seconds, "tolerance": tolerance},
    )

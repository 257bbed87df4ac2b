"""What the benchmarks share: a percentile, and a throwaway PostgreSQL database beside the configured one.

Not a benchmark itself (``make bench`` runs ``bench/bench_*.py``)."""

from __future__ import annotations


def pct(values: list[float], p: float) -> float:
    """The p-th percentile by nearest rank (no interpolation: a value that was measured)."""
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))]


def fresh_database(url: str, suffix: str) -> str:
    """Drop and create ``<name>_<suffix>`` on the server of ``url``; returns its URL."""
    import psycopg

    base, _, name = url.rpartition("/")
    name = f"{name}_{suffix}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

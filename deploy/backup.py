#!/usr/bin/env python3
"""Back up finlit's SQLite database while the bot runs: a consistent copy, checked, rotated.

    python3 deploy/backup.py data/finlit.db backups/ --keep 14

Standard library only (no sqlite3 command-line tool needed). SQLite's online backup API
(``sqlite3.Connection.backup``) copies the database as one read transaction sees it, so the copy is
a consistent snapshot even while the bot writes (WAL mode: readers and the writer do not block each
other). The copy is written under a temporary name, switched to a single-file journal (no -wal/-shm
beside it), checked with ``PRAGMA integrity_check``, and only then renamed to
``<name>-YYYYMMDDTHHMMSSZ.db`` (UTC). Then all but the newest ``--keep`` backups of that database in
the directory are deleted.

Prints one line on success; on any failure prints ``backup: error: ...`` and exits 1, and the
previous backups are left alone. Backups hold residents' data: they are created readable by their
owner only. Run it as the user the bot runs as (it needs write access to the database's directory
to read a WAL database, and files it creates there must stay the bot's).
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

BUSY_TIMEOUT_S = 30.0


class BackupError(Exception):
    pass


def _database_path(argument: str) -> Path:
    """A file path, or a SQLite URL as in DATABASE_URL (sqlite+aiosqlite:///data/finlit.db)."""
    match = re.fullmatch(r"sqlite(?:\+\w+)?:///(.+)", argument)
    path = Path(match.group(1) if match else argument).expanduser()
    if not path.is_file():
        raise BackupError(f"no such database file: {path}")
    return path


def _pattern(stem: str) -> re.Pattern[str]:
    return re.compile(re.escape(stem) + r"-\d{8}T\d{6}Z\.db")


def backup(source: Path, directory: Path, *, keep: int) -> tuple[Path, int, list[Path]]:
    """Write and check one backup; return it, its table count and the backups removed."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"{source.stem}-{stamp}.db"
    if target.exists():
        raise BackupError(f"{target} already exists (two backups in the same second?)")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    old_umask = os.umask(0o077)
    try:
        # mode=rw: never create an empty database when the path is wrong.
        src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            dst = sqlite3.connect(partial)
            try:
                src.backup(dst)  # all pages in one step: one consistent snapshot
                # The copy inherits WAL mode; make it one self-contained file.
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        finally:
            src.close()
        tables = _check(partial)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        partial.rename(target)
        _fsync_directory(directory)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        os.umask(old_umask)
    return target, tables, _prune(directory, source.stem, keep)


def _check(path: Path) -> int:
    """integrity_check must say exactly 'ok', and the copy must hold finlit's tables."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            raise BackupError(f"integrity_check on the copy failed: {'; '.join(result[:5])}")
        names = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    finally:
        connection.close()
    if "alembic_version" not in names:
        raise BackupError("the copy has no alembic_version table: is this finlit's database?")
    return len(names)


def _prune(directory: Path, stem: str, keep: int) -> list[Path]:
    pattern = _pattern(stem)
    backups = sorted(p for p in directory.iterdir() if pattern.fullmatch(p.name) and p.is_file())
    removed = backups[:-keep] if len(backups) > keep else []
    for path in removed:
        path.unlink()
    return removed


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="backup.py", description="Consistent online backup of finlit's SQLite database."
    )
    parser.add_argument("database", help="the database file (or its sqlite+aiosqlite:/// URL)")
    parser.add_argument("directory", type=Path, help="where backups go (created if missing)")
    parser.add_argument(
        "--keep", type=int, default=14, help="how many backups to keep (default 14)"
    )
    args = parser.parse_args(argv)
    if args.keep < 1:
        parser.error("--keep must be at least 1")
    try:
        source = _database_path(args.database)
        target, tables, removed = backup(source, args.directory, keep=args.keep)
    except (BackupError, sqlite3.Error, OSError) as exc:
        print(f"backup: error: {exc}", file=sys.stderr)
        return 1
    size = target.stat().st_size
    print(
        f"backup OK: {target} ({size} bytes, {tables} tables, integrity ok); "
        f"removed {len(removed)} old backup(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

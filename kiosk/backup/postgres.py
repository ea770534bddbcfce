"""PostgreSQL: pg_dump and pg_restore, Debian's postgresql-client of the server's version.

The dump runs in a snapshot this process exported and keeps open (`pg_dump --snapshot`), so
the revision, the counts and the print jobs read here are exactly the dump's. The restore is
one transaction (`pg_restore --single-transaction --clean --if-exists`): on any error the
database is as it was. The connection's arguments come from the SQLAlchemy URL; its password
goes in PGPASSWORD, never on the command line (where `ps` shows it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from kiosk.backup.base import BackupError, facts, first_line
from kiosk.database import make_engine

IN_USE = "stop every `loket run` and `loket printer worker` on it first, then restore"


def dump(url: str, target: Path) -> tuple[str, dict[str, int], set[str], str]:
    """pg_dump --format=custom of the database into `target`; its facts and pg_dump's version."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            reading = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
            with reading.begin():
                server = server_major(reading)
                tool, version = find_tool("pg_dump", server)
                snapshot = reading.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                tables = set(inspect(reading).get_table_names())
                found = facts(lambda sql: list(reading.exec_driver_sql(sql).all()), tables)
                conninfo, env = libpq(url)
                args = [tool, "--format=custom", f"--snapshot={snapshot}", "--no-password"]
                run([*args, f"--file={target}", f"--dbname={conninfo}"], env, server)
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot read the database: {first_line(error)}") from error
    finally:
        engine.dispose()
    return (*found, version)


def restore(url: str, dump: Path, made_by: str, clear: bool) -> None:
    """pg_restore `dump` into the database; `clear`: drop the project's tables first (a target
    at another revision: its tables would not match the dump's)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            server = server_major(conn)
            others = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).scalar_one()
        if others:
            raise BackupError(f"{others} other connection(s) use the database: {IN_USE}.")
        tool, _ = find_tool("pg_restore", max(server, _major(made_by)))
        if clear:
            _drop_tables(engine)
    except SQLAlchemyError as error:
        raise BackupError(f"Cannot reach the database: {first_line(error)}") from error
    finally:
        engine.dispose()
    conninfo, env = libpq(url)
    options = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction"]
    outcome = "The database is empty now." if clear else "The database was not changed."
    run([tool, *options, "--no-password", f"--dbname={conninfo}", str(dump)], env, server, outcome)


def _drop_tables(engine: Engine) -> None:
    from kiosk.models import Base

    with engine.begin() as conn:
        tables = set(inspect(conn).get_table_names())
        for name in sorted(tables & {*Base.metadata.tables, "alembic_version"}):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')


def server_major(conn: Any) -> int:
    """The server's major version (15 for 15.10)."""
    return int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000


def _major(version: str) -> int:
    found = re.search(r"(\d+)", version)
    return int(found.group(1)) if found else 0


def find_tool(name: str, server: int) -> tuple[str, str]:
    """The path and version of pg_dump or pg_restore, if it can work with this server."""
    package = f"postgresql-client-{server}"
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed (not found on PATH). Install Debian's {package} "
            f"(`apt-get install {package}`) and try again."
        )
    answer = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"\(PostgreSQL\)\s+([\d.]+)", answer.stdout)
    version = found.group(1) if found else ""
    if _major(version) < server:
        raise BackupError(
            f"{name} {version or '(unknown version)'} cannot work with PostgreSQL {server}. "
            f"Install Debian's {package} (`apt-get install {package}`) and try again."
        )
    return path, version


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """pg_dump's --dbname (a conninfo string, no password) and its environment (PGPASSWORD)."""
    parsed = make_url(url)
    values: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "dbname": parsed.database,
    }
    values.update({k: v for k, v in parsed.query.items() if isinstance(v, str)})
    conninfo = " ".join(
        f"{key}='{_quoted(str(value))}'" for key, value in values.items() if value not in (None, "")
    )
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return conninfo, env


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def run(args: list[str], env: dict[str, str], server: int, outcome: str = "") -> None:
    """Run pg_dump or pg_restore; its last words in a `BackupError` when it fails."""
    name = Path(args[0]).name
    result = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if result.returncode == 0:
        return
    said = "\n".join(result.stderr.strip().splitlines()[-5:])
    if "version mismatch" in said or "unsupported version" in said:
        package = f"postgresql-client-{server}"
        raise BackupError(
            f"{name} does not fit this database. Install Debian's {package}. {outcome}\n{said}"
        )
    raise BackupError(f"{name} failed. {outcome}\n{said}")

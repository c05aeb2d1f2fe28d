"""Operator CLI: `beacon-ingestion COMMAND` (or `python -m beacon_ingestion.cli`).

Imports validate every row first and report errors with line numbers; `--dry-run` only
validates (no database needed). Writes go to the Postgres at DATABASE_URL (schema
`ingestion`, or DB_SCHEMA), the same rows the service serves.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from beacon_ingestion.companies.catalogue import parse_constituents
from beacon_ingestion.companies.company_data import import_company_data, refresh_catalogue
from beacon_ingestion.companies.imports import PARSERS, InvalidImport, detect_format, parse_rows
from beacon_ingestion.settings import IngestionSettings

app = typer.Typer(help="Ingestion service operations: catalogue and company data imports.",
                  no_args_is_help=True, add_completion=False)


def _repository():
    from beacon_ingestion.repository.postgres import PostgresIngestionRepository

    settings = IngestionSettings()
    if not settings.database_url:
        typer.echo("DATABASE_URL is not set (use --dry-run to validate only)", err=True)
        raise typer.Exit(2)
    return PostgresIngestionRepository(settings.database_url, settings.db_schema)


def _report(exc: InvalidImport) -> None:
    for error in exc.errors:
        typer.echo(f"{error.unit} {error.line}: {error.field}: {error.message}", err=True)
    typer.echo(f"{len(exc.errors)} error(s); nothing imported", err=True)
    raise typer.Exit(1)


async def _with_repo(work):
    repo = _repository()
    await repo.start()
    try:
        return await work(repo)
    finally:
        await repo.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"cannot read {path}: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("import-companies")
def import_companies(path: Path, dry_run: bool = typer.Option(False, "--dry-run")) -> None:
    """Refresh the catalogue from an NSE index list file (ind_nifty50list.csv format)."""
    text = _read(path)
    try:
        if dry_run:
            typer.echo(f"{len(parse_constituents(text))} companies valid")
            return
        result = asyncio.run(_with_repo(lambda repo: refresh_catalogue(repo, text)))
    except InvalidImport as exc:
        _report(exc)
    typer.echo(f"{result.total} companies: {len(result.added)} added, {len(result.updated)} updated, "
               f"{len(result.deactivated)} deactivated")


def _data_command(kind: str):
    def command(path: Path, dry_run: bool = typer.Option(False, "--dry-run")) -> None:
        text = _read(path)
        try:
            if dry_run:
                rows = parse_rows(text, detect_format(path.name, None, text), PARSERS[kind])
                typer.echo(f"{len(rows)} {kind} rows valid")
                return
            result = asyncio.run(_with_repo(
                lambda repo: import_company_data(repo, kind, text, filename=path.name)))
        except InvalidImport as exc:
            _report(exc)
        typer.echo(f"{result.imported} {kind} rows imported for {len(result.symbols)} companies")

    command.__doc__ = f"Import {kind} from a CSV or JSON file (validated row by row)."
    return command


for _kind in ("fundamentals", "prices", "news"):
    app.command(f"import-{_kind}")(_data_command(_kind))


@app.command("generate-samples")
def generate_samples(target: Path = typer.Argument(None)) -> None:
    """Regenerate the illustrative sample PDFs (default: the package's sample_corpus/)."""
    from beacon_ingestion.sample_corpus_gen import generate

    out = target or Path(__file__).parent / "sample_corpus"
    for entry in generate(out):
        typer.echo(entry["file"])


if __name__ == "__main__":
    app()


@app.command("new-migration")
def new_migration(message: str) -> None:
    """Write the next migration from what repository/tables.py changed (Alembic autogenerate
    against a scratch schema migrated to head, dropped after; needs DATABASE_URL)."""
    import uuid

    from beacon_runtime.db import migrate, write_migration

    from beacon_ingestion.repository.postgres import MIGRATIONS, drop_schema

    settings = IngestionSettings()
    if not settings.database_url:
        typer.echo("DATABASE_URL is not set", err=True)
        raise typer.Exit(2)
    numbers = [int(p.name.split("_", 1)[0]) for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py")]
    scratch = f"ingestion_scratch_{uuid.uuid4().hex[:8]}"
    try:
        migrate(settings.database_url, MIGRATIONS, scratch)
        write_migration(settings.database_url, MIGRATIONS, scratch, message, f"{max(numbers) + 1:04d}")
    finally:
        asyncio.run(drop_schema(settings.database_url, scratch))

"""The CLI writing to the real Postgres, in a schema made for the test and dropped after."""

import asyncio
import os
import uuid

from beacon_ingestion.cli import app
from beacon_ingestion.repository.postgres import PostgresIngestionRepository
from pgtools_ingestion import drop_schema
from typer.testing import CliRunner

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def test_cli_imports_into_postgres(tmp_path, monkeypatch):
    schema = "t_ingest_cli_" + uuid.uuid4().hex[:8]
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("DB_SCHEMA", schema)
    runner = CliRunner()
    try:
        companies = tmp_path / "list.csv"
        companies.write_text("Company Name,Industry,Symbol,Series,ISIN Code\n"
                             "Tata Consultancy Services Ltd.,Information Technology,TCS,EQ,INE467B01029\n")
        result = runner.invoke(app, ["import-companies", str(companies)])
        assert result.exit_code == 0, result.output
        assert "1 added" in result.output
        news = tmp_path / "news.json"
        news.write_text('[{"symbol": "TCS", "title": "TCS profit rises", "url": "https://e.com/1",'
                        ' "published_at": "2024-11-25T09:00:00Z"}]')
        result = runner.invoke(app, ["import-news", str(news)])
        assert result.exit_code == 0 and "1 news rows imported" in result.output

        async def check():
            repo = PostgresIngestionRepository(DATABASE_URL, schema)
            await repo.start(migrate=False)
            try:
                return await repo.list_news("TCS.NS")
            finally:
                await repo.close()

        [item] = asyncio.run(check())
        assert item.title == "TCS profit rises" and item.sentiment == "positive"
    finally:
        asyncio.run(drop_schema(DATABASE_URL, schema))

from beacon_ingestion.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def test_dry_run_validates_and_reports_line_numbers(tmp_path):
    good = tmp_path / "prices.csv"
    good.write_text("symbol,date,open,high,low,close,volume\nTCS.NS,2024-11-25,10,12,9,11,100\n")
    result = runner.invoke(app, ["import-prices", str(good), "--dry-run"])
    assert result.exit_code == 0 and "1 prices rows valid" in result.output

    bad = tmp_path / "fundamentals.csv"
    bad.write_text("symbol,period,revenue\nTCS.NS,FY2024,1\nTCS.NS,Q9FY25,2\nTCS.NS,FY2023,x\n")
    result = runner.invoke(app, ["import-fundamentals", str(bad), "--dry-run"])
    assert result.exit_code == 1
    assert "line 3: period" in result.output and "line 4: revenue" in result.output
    assert "nothing imported" in result.output


def test_catalogue_dry_run_and_missing_database(tmp_path, monkeypatch):
    csv = tmp_path / "list.csv"
    csv.write_text("Company Name,Industry,Symbol,Series,ISIN Code\nA Ltd.,Energy,AAA,EQ,INE002A01018\n")
    result = runner.invoke(app, ["import-companies", str(csv), "--dry-run"])
    assert result.exit_code == 0 and "1 companies valid" in result.output
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = runner.invoke(app, ["import-companies", str(csv)])
    assert result.exit_code == 2 and "DATABASE_URL is not set" in result.output

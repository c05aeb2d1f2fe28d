"""`beacon`: the research API from a terminal. Every command is an HTTP call to a gateway
(`make dev` at http://127.0.0.1:8000, or a deployment: --url / BEACON_URL), with the token
`beacon login` stored. Nothing starts before a command runs: `--help` only prints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from beacon_cli import ingest as ingest_files
from beacon_cli.client import Api, ApiFailure
from beacon_cli.config import DEFAULT_URL, Session, forget_session, load_session, save_session

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Users (admins)", no_args_is_help=True)
keys_app = typer.Typer(help="Report-API keys (admins)", no_args_is_help=True)
reviews_app = typer.Typer(help="Answers held for human review (reviewers, admins)", no_args_is_help=True)
companies_app = typer.Typer(help="The company catalogue", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(reviews_app, name="reviews")
app.add_typer(companies_app, name="companies")

UrlOption = Annotated[str | None, typer.Option("--url", envvar="BEACON_URL", show_envvar=True,
                                               help=f"Gateway base URL (default: the logged-in one, else {DEFAULT_URL})")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON answer")]


class State:
    url: str | None = None


state = State()


@app.callback()
def main(url: UrlOption = None) -> None:
    state.url = url


def console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def api(*, authenticated: bool = True) -> Api:
    session = load_session() if authenticated else None
    base = state.url or (session.base_url if session else None) or DEFAULT_URL
    if authenticated and (session is None or session.base_url.rstrip("/") != base.rstrip("/")):
        fail(f"not logged in to {base}: run `beacon login` first")
    return Api(base, session)


def fail(message: str, code: int = 1) -> None:
    Console(stderr=True, highlight=False).print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def call(fn, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except ApiFailure as exc:
        fail(str(exc))
    except httpx.TransportError as exc:
        fail(f"cannot reach the gateway: {exc}")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    grid = Table(title=title)
    for column in columns:
        grid.add_column(column)
    for row in rows:
        grid.add_row(*["" if v is None else str(v) for v in row])
    return grid


def show(body: Any, as_json: bool, render) -> None:
    if as_json:
        typer.echo(json.dumps(body, indent=2, default=str))
    else:
        console().print(render(body))


# ---------------------------------------------------------------- session


@app.command()
def login(
    email: Annotated[str, typer.Option(prompt=True, envvar="BEACON_EMAIL")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, envvar="BEACON_PASSWORD")],
) -> None:
    """Log in and keep the tokens (in the user's config dir) for the other commands."""
    client = api(authenticated=False)
    pair = call(client.login, email, password)
    path = save_session(Session(client.base_url, pair["access_token"], pair.get("refresh_token"), email))
    console().print(f"Logged in to {client.base_url} as {email} (token in {path})")


@app.command()
def logout() -> None:
    """End the session on the server and forget the stored tokens."""
    session = load_session()
    if session is not None:
        try:
            Api(session.base_url, session).request("POST", "/api/v1/auth/logout")
        except Exception:  # noqa: BLE001 - the local session goes whatever the server says
            pass
    console().print("Logged out" if forget_session() else "Not logged in")


@app.command()
def whoami(as_json: JsonOption = False) -> None:
    """The user the stored token belongs to."""
    me = call(api().get, "/api/v1/auth/me")
    show(me, as_json, lambda m: f"{m['email']} ({m['role']}), {m['queries_today']}/{m['daily_query_limit']} questions today")


# ---------------------------------------------------------------- ingestion


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="PDF files, folders of PDFs, or manifest CSVs "
                                                     "(columns path,company,period,doc_type,title)")],
    company: Annotated[str | None, typer.Option(help="Company symbol, e.g. RELIANCE.NS")] = None,
    period: Annotated[str | None, typer.Option(help="Fiscal period, e.g. FY2024 or Q2FY25")] = None,
    doc_type: Annotated[str, typer.Option(help="annual_report, quarterly_result, ...")] = "annual_report",
    timeout: Annotated[float, typer.Option(help="Seconds to follow the documents")] = 1800.0,
) -> None:
    """Upload PDFs and follow each through download, parse, chunk, embed and index."""
    planned = ingest_files.plan(paths, company=company, period=period, doc_type=doc_type)
    if not planned:
        fail("no PDF found in the paths given")
    out = console()
    failures = call(ingest_files.run, api(), planned, out, timeout_s=timeout)
    out.print(f"{len(planned) - failures} of {len(planned)} documents ingested")
    if failures:
        raise typer.Exit(1)


@app.command()
def documents(
    status: Annotated[str | None, typer.Option(help="pending, processing, completed or failed")] = None,
    company: Annotated[str | None, typer.Option()] = None,
    limit: int = 50, as_json: JsonOption = False,
) -> None:
    """List documents."""
    body = call(api().get, "/api/v1/documents", status=status, company_symbol=company, limit=limit)
    show(body, as_json, lambda b: table(f"{b['total']} documents", ["id", "company", "type", "period", "status", "chunks", "title"],
                                        [[d["id"], d["company_symbol"], d["doc_type"], d["fiscal_period"], d["status"],
                                          d["chunk_count"], d["title"]] for d in b["documents"]]))


# ---------------------------------------------------------------- questions


@app.command()
def query(
    question: Annotated[str, typer.Argument(help="At least 10 characters")],
    company: Annotated[str | None, typer.Option(help="Only this company's documents")] = None,
    period: Annotated[str | None, typer.Option(help="Only this fiscal period")] = None,
) -> None:
    """Ask a question; the answer streams into the terminal, then its citations."""
    filters = {k: v for k, v in {"company_symbol": company, "fiscal_period": period}.items() if v}
    body: dict[str, Any] = {"question": question, "stream": True}
    if filters:
        body["filters"] = filters
    out = console()
    citations: list[dict[str, Any]] = []

    def stream() -> str | None:
        for event, data in api().stream_events("/api/v1/query/stream", body):
            payload = json.loads(data) if data.startswith("{") else {"text": data}
            if event == "token":
                typer.echo(payload.get("content", ""), nl=False)
            elif event == "citation":
                citations.append(payload)
            elif event == "node" and payload.get("node") == "review" and payload.get("status") == "pending":
                return "held for human review: the answer is sent once a reviewer approves it"
            elif event == "error":
                fail(payload.get("message") or data)
            elif event == "done":
                return None
        return None

    held = call(stream)
    typer.echo("")
    if held:
        out.print(f"[yellow]{held}[/yellow]")
        return
    for c in citations:
        out.print(escape(f"[{c.get('index')}] {c.get('document_title')}, page {c.get('page_number')}"))


# ---------------------------------------------------------------- administration


@users_app.command("list")
def users_list(limit: int = 50, offset: int = 0, as_json: JsonOption = False) -> None:
    body = call(api().get, "/api/v1/admin/users", limit=limit, offset=offset)
    show(body, as_json, lambda b: table(f"{b['total']} users", ["id", "email", "name", "role", "limit/day", "disabled"],
                                        [[u["id"], u["email"], u["full_name"], u["role"], u["daily_query_limit"],
                                          u["disabled"]] for u in b["users"]]))


@users_app.command("add")
def users_add(
    email: str,
    full_name: Annotated[str, typer.Option("--name", prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    role: Annotated[str, typer.Option(help="user, reviewer or admin")] = "user",
    daily_query_limit: Annotated[int | None, typer.Option()] = None,
) -> None:
    body = {"email": email, "password": password, "full_name": full_name, "role": role}
    if daily_query_limit is not None:
        body["daily_query_limit"] = daily_query_limit
    user = call(api().post, "/api/v1/admin/users", body)
    console().print(f"Created user {user['id']} {user['email']} ({user['role']})")


@users_app.command("disable")
def users_disable(user_id: int) -> None:
    user = call(api().post, f"/api/v1/admin/users/{user_id}/disable")
    console().print(f"Disabled {user['email']}: their sessions ended")


@users_app.command("enable")
def users_enable(user_id: int) -> None:
    user = call(api().post, f"/api/v1/admin/users/{user_id}/enable")
    console().print(f"Enabled {user['email']}")


@keys_app.command("list")
def keys_list(as_json: JsonOption = False) -> None:
    body = call(api().get, "/api/v1/admin/api-keys")
    show(body, as_json, lambda b: table("report-API keys", ["id", "name", "prefix", "created", "revoked"],
                                        [[k["id"], k["name"], k["prefix"], k["created_at"], k["revoked_at"]]
                                         for k in b["keys"]]))


@keys_app.command("create")
def keys_create(name: str) -> None:
    key = call(api().post, "/api/v1/admin/api-keys", {"name": name})
    console().print(f"Key {key['id']} ({key['name']}), shown once:")
    typer.echo(key["api_key"])


@keys_app.command("revoke")
def keys_revoke(key_id: int) -> None:
    key = call(api().request, "DELETE", f"/api/v1/admin/api-keys/{key_id}").json()
    console().print(f"Revoked key {key['id']} ({key['name']})")


@reviews_app.command("list")
def reviews_list(limit: int = 50, as_json: JsonOption = False) -> None:
    body = call(api().get, "/api/v1/hitl/pending", limit=limit)
    show(body, as_json, lambda b: table(f"{b['total']} pending reviews", ["id", "question", "reason", "created"],
                                        [[r["id"], r["question"], r["reason"], r["created_at"]] for r in b["reviews"]]))


@reviews_app.command("show")
def reviews_show(review_id: str) -> None:
    body = call(api().get, f"/api/v1/hitl/{review_id}")
    typer.echo(json.dumps(body, indent=2, default=str))


def _decide(review_id: str, decision: str, body: dict[str, Any]) -> None:
    result = call(api().post, f"/api/v1/hitl/{review_id}/{decision}", body)
    console().print(f"Review {result['id']}: {result['status']}")


@reviews_app.command("approve")
def reviews_approve(review_id: str, notes: str | None = None) -> None:
    _decide(review_id, "approve", {"notes": notes} if notes else {})


@reviews_app.command("reject")
def reviews_reject(review_id: str, notes: str | None = None) -> None:
    _decide(review_id, "reject", {"notes": notes} if notes else {})


@reviews_app.command("edit")
def reviews_edit(review_id: str, response: Annotated[str, typer.Option(help="The corrected answer")],
                 notes: str | None = None) -> None:
    _decide(review_id, "edit", {"edited_response": response, **({"notes": notes} if notes else {})})


@companies_app.command("list")
def companies_list(sector: str | None = None, index: str | None = None, limit: int = 100,
                   as_json: JsonOption = False) -> None:
    body = call(api().get, "/api/v1/companies", sector=sector, index=index, limit=limit)
    show(body, as_json, lambda b: table(f"{b['total']} companies", ["symbol", "name", "sector", "rank"],
                                        [[c["symbol"], c["name"], c["sector"], c["market_cap_rank"]]
                                         for c in b["companies"]]))


@companies_app.command("show")
def companies_show(symbol: str) -> None:
    body = call(api().get, f"/api/v1/companies/{symbol}")
    typer.echo(json.dumps(body, indent=2, default=str))


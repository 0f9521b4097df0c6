"""HTTP triggers for chargeback reports: GET /api/v1/reports/chargeback (JSON or CSV) and
GET /api/v1/reports/chargeback.html (a page with an SVG chart). Every format carries
``x-report-as-of``: when the rollups it read were computed (the JSON and the page say it too)."""

from __future__ import annotations

from datetime import UTC

import azure.functions as func
from azurefunctions.extensions.http.fastapi import (
    HTMLResponse,
    Request,
    Response,
)

from functions.dev_signin_http import signin_redirect
from functions.http_frame import Context, model_response, serve
from shared.handlers.reports import chargeback, report_answer
from shared.metering.report_render import HTML_CSP, csv_filename, render_csv, render_html
from shared.metering.reports import Report, ReportQuery, parse_query

bp = func.Blueprint()

# Chargeback data is business-confidential: no shared cache may keep a copy.
NO_STORE = {"Cache-Control": "private, no-store"}
AS_OF_HEADER = "x-report-as-of"


def _query(request: Request, ctx: Context) -> ReportQuery:
    today = ctx.gateway.now().astimezone(UTC).date()  # the default period ends today (UTC)
    return parse_query(request.query_params.multi_items(), today)


def _headers(report: Report) -> dict[str, str]:
    as_of = "never" if report.as_of is None else report.as_of.isoformat()
    return {**NO_STORE, AS_OF_HEADER: as_of}


def _wants_csv(request: Request, query: ReportQuery) -> bool:
    if query.format is not None:
        return query.format == "csv"  # an explicit format= wins over Accept
    return "text/csv" in request.headers.get("accept", "").lower()


@bp.route(route="v1/reports/chargeback", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def chargeback_report(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        query = _query(request, ctx)
        report = await chargeback(ctx.gateway.reports, ctx.caller, query)
        if not _wants_csv(request, query):
            return model_response(report_answer(report), headers=_headers(report))
        disposition = f"attachment; filename={csv_filename(report)}"
        return Response(
            render_csv(report).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={**_headers(report), "Content-Disposition": disposition},
        )

    return await serve(req, handle)


@bp.route(route="v1/reports/chargeback.html", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def chargeback_page(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        report = await chargeback(ctx.gateway.reports, ctx.caller, _query(request, ctx))
        headers = {**_headers(report), "Content-Security-Policy": HTML_CSP}
        return HTMLResponse(render_html(report), headers=headers)

    # A browser with no identity is sent to the developer sign-in, where that is on.
    return await signin_redirect(req) or await serve(req, handle)

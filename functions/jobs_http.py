"""HTTP trigger for polling queued work: GET /api/v1/jobs/{job_id}."""

from __future__ import annotations

import azure.functions as func
from azurefunctions.extensions.http.fastapi import Request, Response

from functions.http_frame import Context, model_response, serve
from shared.handlers.overflow import read_job
from shared.http.request import route_param

bp = func.Blueprint()


@bp.route(route="v1/jobs/{job_id}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
async def job_status(req: Request) -> Response:
    async def handle(request: Request, ctx: Context) -> Response:
        jobs = ctx.gateway.usecases.jobs.jobs
        job = await read_job(jobs, ctx.caller, route_param(request, "job_id"))
        return model_response(job)

    return await serve(req, handle)

"""The Azure Functions entry point: registers each trigger group's blueprint, nothing else."""

import azure.functions as func

from functions import (
    chat_http,
    dev_signin_http,
    health_http,
    jobs_http,
    openapi_http,
    overflow_worker,
    reports_http,
    rollup_timer,
    sweep_timer,
    usecases_http,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (
    usecases_http.bp,
    chat_http.bp,
    jobs_http.bp,
    overflow_worker.bp,
    reports_http.bp,
    rollup_timer.bp,
    sweep_timer.bp,
    health_http.bp,
    openapi_http.bp,
    dev_signin_http.bp,
):
    app.register_functions(blueprint)

"""The Azure Functions entry point: registers each trigger group's blueprint, nothing else."""

import azure.functions as func

from functions import jobs_http, overflow_worker, usecases_http

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (usecases_http.bp, jobs_http.bp, overflow_worker.bp):
    app.register_functions(blueprint)

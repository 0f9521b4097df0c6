"""The app indexes as the Functions host expects: every function, binding and route."""

from __future__ import annotations

from devhost.host import indexed_app


def test_every_function_is_registered_with_its_trigger() -> None:
    app = indexed_app()  # calls function_app.app.get_functions() exactly once per process
    routes = {(fn.route, method) for fn in app.http for method in fn.methods}
    assert ("v1/{usecase}", "POST") in routes
    assert ("v1/usecases", "GET") in routes
    assert ("v1/jobs/{job_id}", "GET") in routes
    assert all(fn.arg_name == "req" for fn in app.http)
    assert [(q.name, q.queue_name, q.arg_name) for q in app.queues] == [
        ("overflow_worker", "overflow", "msg")
    ]
    # A schedule given as a binding expression is resolved from the setting's default.
    assert {(t.name, t.schedule) for t in app.timers} == {
        ("usage_rollup", "0 */15 * * * *"),
        ("usage_sweep", "0 * * * * *"),
    }


def test_http_triggers_require_a_function_key_in_azure() -> None:
    import function_app

    for function in function_app.app._function_builders:  # what get_functions() built
        trigger = function._function.get_trigger()
        assert trigger is not None
        spec = trigger.get_dict_repr()
        if spec["type"] == "httpTrigger" and not spec["route"].startswith("health"):
            assert str(getattr(spec["authLevel"], "value", spec["authLevel"])) == "function"

"""Read the app's own registrations, as the Functions host does when it indexes function_app.py."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func


@dataclass(frozen=True, slots=True)
class HttpFunction:
    name: str
    route: str  # as registered, e.g. "v1/jobs/{job_id}"
    methods: tuple[str, ...]
    arg_name: str
    handler: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class QueueFunction:
    name: str
    queue_name: str
    arg_name: str
    handler: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class TimerFunction:
    name: str
    schedule: str
    arg_name: str
    handler: Callable[..., Any]


@dataclass(frozen=True, slots=True)
class IndexedApp:
    http: tuple[HttpFunction, ...]
    queues: tuple[QueueFunction, ...]
    timers: tuple[TimerFunction, ...]


_SETTING = re.compile(r"^%([A-Za-z0-9_]+)%$")


def resolve_setting(value: str, defaults: dict[str, str]) -> str:
    """Binding expressions like %SERVICEBUS_QUEUE_NAME% read App Settings, as in Azure."""
    match = _SETTING.match(value)
    if not match:
        return value
    name = match.group(1)
    return os.environ.get(name, defaults.get(name, ""))


def index(app: func.FunctionApp, defaults: dict[str, str]) -> IndexedApp:
    """Call app.get_functions() once (a second call raises) and sort by trigger type."""
    http: list[HttpFunction] = []
    queues: list[QueueFunction] = []
    timers: list[TimerFunction] = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger is None:
            raise RuntimeError(f"function {function.get_function_name()!r} has no trigger")
        spec = trigger.get_dict_repr()
        name = str(function.get_function_name())
        handler = function.get_user_function()
        if spec["type"] == "httpTrigger":
            methods = tuple(str(getattr(m, "value", m)) for m in spec.get("methods") or ["GET"])
            http.append(
                HttpFunction(name, spec.get("route") or name, methods, spec["name"], handler)
            )
        elif spec["type"] == "serviceBusTrigger":
            queue = resolve_setting(spec["queueName"], defaults)
            queues.append(QueueFunction(name, queue, spec["name"], handler))
        elif spec["type"] == "timerTrigger":
            schedule = resolve_setting(spec["schedule"], defaults)
            timers.append(TimerFunction(name, schedule, spec["name"], handler))
        else:
            raise RuntimeError(f"the local host cannot run {spec['type']} function {name!r}")
    return IndexedApp(tuple(http), tuple(queues), tuple(timers))

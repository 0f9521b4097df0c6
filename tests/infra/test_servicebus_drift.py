"""The overflow queue infra/ creates has the properties the code assumes (servicebus.bicep)."""

from __future__ import annotations

from shared.adapters.local_queue import DUPLICATE_WINDOW_SECONDS
from shared.settings import Settings
from tests.infra import bicep


def queue() -> dict[str, object]:
    properties: dict[str, object] = bicep.resource(bicep.module("servicebus"), "queue")[
        "properties"
    ]
    return properties


def iso_minutes(value: object) -> float:
    text = str(value)
    assert text.startswith("PT") and text.endswith("M"), text
    return float(text[2:-1]) * 60


def test_max_delivery_count_is_the_apps_setting_one_value_in_two_places() -> None:
    main = bicep.main()
    assert queue()["maxDeliveryCount"] == "maxDeliveryCount"
    assert bicep.module_params("serviceBus")["maxDeliveryCount"] == "serviceBusMaxDeliveryCount"
    assert bicep.module_params("functionApp")["serviceBusMaxDeliveryCount"] == (
        "serviceBusMaxDeliveryCount"
    )
    default = bicep.param_default(main, "serviceBusMaxDeliveryCount")
    assert default == Settings().servicebus_max_delivery_count


def test_duplicate_detection_on_with_the_window_the_local_queue_models() -> None:
    assert queue()["requiresDuplicateDetection"] is True
    window = iso_minutes(queue()["duplicateDetectionHistoryTimeWindow"])
    assert window == DUPLICATE_WINDOW_SECONDS


def test_lock_duration_is_the_one_the_local_host_uses() -> None:
    from devhost.queue_runner import LOCK_SECONDS

    assert iso_minutes(queue()["lockDuration"]) == LOCK_SECONDS
    assert queue()["requiresSession"] is False  # the worker takes messages without sessions


def test_queue_name_and_message_ttl_follow_the_settings() -> None:
    main = bicep.main()
    assert main["variables"]["queueName"]["value"] == Settings().servicebus_queue_name
    assert bicep.module_params("serviceBus")["queueName"] == "queueName"
    assert bicep.module_params("serviceBus")["messageTimeToLive"] == "PT${jobTtlSeconds}S"
    assert bicep.param_default(main, "jobTtlSeconds") == Settings().gateway_job_ttl_seconds


def test_standard_tier_keys_off_sender_and_receiver_roles() -> None:
    module = bicep.module("servicebus")
    namespace = bicep.resource(module, "namespace")
    assert namespace["sku"]["name"] == "Standard"  # scheduled messages, duplicate detection
    assert namespace["properties"]["disableLocalAuth"] is True
    roles = module["variables"]["roles"]["value"]
    assert roles == [
        "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",  # Azure Service Bus Data Sender
        "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",  # Azure Service Bus Data Receiver
    ]

"""The Dramatiq broker: Redis, with asyncio actors enabled.

RabbitMQ works too: swap RedisBroker for dramatiq.brokers.rabbitmq's
RabbitmqBroker (pip install 'dramatiq[rabbitmq]') with an amqp:// URL.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware.asyncio import AsyncIO

from mometrics_control.config import get_settings


def setup_broker() -> dramatiq.Broker:
    settings = get_settings()
    broker = RedisBroker(url=settings.redis_url, namespace="mometrics-jobs")  # type: ignore[no-untyped-call]
    broker.add_middleware(AsyncIO())
    dramatiq.set_broker(broker)
    return broker

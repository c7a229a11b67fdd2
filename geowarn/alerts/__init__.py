"""Alerts: the message payload, its rendering (text, HTML, SMS, evidence map, CAP 1.2) and the delivery channels.

The monitor builds one :class:`geowarn.alerts.payload.AlertPayload` per alert; the outbox hands it to
each configured channel (:mod:`geowarn.alerts.channels`) once per recipient, with an idempotency key
from :meth:`~geowarn.alerts.payload.AlertPayload.idempotency_key` so retries never double-deliver.
"""

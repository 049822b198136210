"""Prometheus metrics for ``/metrics``: what an admin graphs and alerts on."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60)
_ACK = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3)


class Metrics:
    """One registry per app, so tests (and several apps in one process) never collide."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.questions = Counter("policybot_questions", "Questions received",
                                 ["surface"], registry=r)
        self.answers = Counter("policybot_answers", "Answers posted, by outcome "
                               "(grounded, evidence, abstained, ungrounded, fallback)",
                               ["outcome"], registry=r)
        self.abstentions = Counter("policybot_abstentions",
                                   "Answers where the policies did not cover the question",
                                   registry=r)
        self.errors = Counter("policybot_answer_errors", "Questions that failed with an error",
                              registry=r)
        self.answer_seconds = Histogram("policybot_answer_seconds",
                                        "Question received to answer posted", ["generator"],
                                        buckets=_LATENCY, registry=r)
        self.request_seconds = Histogram("policybot_http_request_seconds",
                                         "HTTP requests from Slack until acknowledged",
                                         ["path"], buckets=_ACK, registry=r)
        self.slack_errors = Counter("policybot_slack_api_errors", "Slack Web API errors",
                                    ["method", "error"], registry=r)
        self.sync_runs = Counter("policybot_sync_runs", "Source syncs, by outcome",
                                 ["source", "status"], registry=r)
        self.rate_limited = Counter("policybot_rate_limited", "Questions refused by the "
                                    "per-user rate limit", registry=r)
        self.duplicates = Counter("policybot_duplicate_deliveries",
                                  "Slack retries and duplicates that were skipped", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)

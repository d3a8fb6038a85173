"""Prometheus metrics of the API: per-route requests and latency, engine steps, events, store, model.

One worker: a private registry per app. Several workers (``serve --workers N``): prometheus-client's
multiprocess mode — ``PROMETHEUS_MULTIPROC_DIR`` is set by ``serve`` before the workers start, each
worker writes its counters and histograms to files there, and ``/metrics`` on any worker sums them
over all workers. Store state, model version and the log's event count are read live from the
answering worker's engine at scrape time (every worker serves the same home and store).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from recsys_tui.core.results import Timings

MULTIPROC_VAR = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
                   0.1, 0.25, 0.5, 1.0, 2.5)
STEP_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1)
GC_BUCKETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_VAR))


class EngineState(Collector):
    """Live gauges read from the engine at scrape time: store up, model version, logged events."""

    def __init__(self, read: Callable[[], tuple[bool, str, str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        store_up, store_kind, version, events = self._read()
        up = GaugeMetricFamily("recsys_store_up", "1 when the feature store answers, 0 when degraded",
                               labels=["store"])
        up.add_metric([store_kind], 1.0 if store_up else 0.0)
        yield up
        model = GaugeMetricFamily("recsys_model_info", "The model version serving (value is always 1)",
                                  labels=["version"])
        model.add_metric([version], 1.0)
        yield model
        yield GaugeMetricFamily("recsys_event_log_last_id", "Id of the newest event in the shared log",
                                value=float(events))


class Metrics:
    """The instruments the app updates and the exposition it serves."""

    def __init__(self, read_state: Callable[[], tuple[bool, str, str, int]]) -> None:
        disable_created_metrics()  # no *_created series: they double the exposition for nothing
        self.multiprocess = multiprocess()
        # In multiprocess mode the instruments write to per-process files; a registry would only
        # report this process, so they join none and the exposition collects from the files.
        own = None if self.multiprocess else CollectorRegistry(auto_describe=True)
        self.requests = Counter("recsys_http_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=own)
        self.latency = Histogram("recsys_http_request_duration_seconds", "HTTP request latency",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=own)
        self.steps = Histogram("recsys_engine_step_seconds", "Engine hot-path step time",
                               ["op", "step"], buckets=STEP_BUCKETS, registry=own)
        self.events = Counter("recsys_events_recorded", "Events committed to the log via the API",
                              ["kind"], registry=own)
        self.gc_pauses = Histogram("recsys_gc_pause_seconds", "Garbage-collector pauses of the API "
                                   "workers (the whole process waits)", ["generation"],
                                   buckets=GC_BUCKETS, registry=own)
        self._own = own
        self._state = EngineState(read_state)
        self._answered: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request and time it (the labelled children are looked up once per key)."""
        key = (route, method, status)
        pair = self._answered.get(key)
        if pair is None:
            pair = self._answered.setdefault(key, (self.latency.labels(route, method),
                                                   self.requests.labels(route, method, str(status))))
        pair[0].observe(seconds)
        pair[1].inc()

    def gc_pause(self, generation: int, seconds: float) -> None:
        self.gc_pauses.labels(str(generation)).observe(seconds)

    def observe_timings(self, op: str, timings: Timings) -> None:
        for step, ms in timings.steps.items():
            self.steps.labels(op, step).observe(ms / 1000.0)
        self.steps.labels(op, "total").observe(timings.total_ms / 1000.0)

    def exposition(self) -> bytes:
        """The Prometheus text format of every instrument (all workers) plus the live gauges."""
        if self.multiprocess:
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
        else:
            registry = self._own  # type: ignore[assignment]
        body = generate_latest(registry)
        state = CollectorRegistry()
        state.register(self._state)
        return body + generate_latest(state)

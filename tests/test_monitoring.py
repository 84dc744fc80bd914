"""The shipped Prometheus configuration (deploy/monitoring) matches what the services export.

An alert on a metric nobody exports, or on a label it does not have, never fires: the rules are
checked against the metric objects of the code, the scrape targets against docker-compose.yml.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

# Importing the services' apps registers every metric they export.
SERVICE_MODULES = ("pentagon.admin.app", "pentagon.agent.server", "pentagon.tracking.consumer",
                   "pentagon.tracking.commands", "pentagon.webhook.app")
for _module in SERVICE_MODULES:
    importlib.import_module(_module)

ROOT = Path(__file__).resolve().parents[1]
MONITORING = ROOT / "deploy" / "monitoring"
RULES = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
OUR_PREFIXES = ("webhook_", "tracking_", "admin_", "agent_")
SELECTOR = re.compile(r"\b([a-z_][a-z0-9_]*)\s*(?:\{([^}]*)\})?")
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum"), "summary": ("_count", "_sum")}


def exported() -> dict[str, tuple[str, ...]]:
    """Sample name -> label names, for every metric object of ours in the default registry."""
    samples: dict[str, tuple[str, ...]] = {}
    for collector in list(REGISTRY._collector_to_names):  # noqa: SLF001 - the registry's own index
        if isinstance(collector, MetricWrapperBase) and collector._name.startswith(OUR_PREFIXES):  # noqa: SLF001
            for suffix in SUFFIXES[collector._type]:  # noqa: SLF001
                samples[collector._name + suffix] = tuple(collector._labelnames)  # noqa: SLF001
    return samples


def selectors(expr: str) -> list[tuple[str, list[str]]]:
    """(metric, label names) of every selector of ours in a PromQL expression."""
    found = []
    for name, labels in SELECTOR.findall(expr):
        if name.startswith(OUR_PREFIXES):
            found.append((name, re.findall(r"([a-z_]+)\s*=~?", labels)))
    return found


@pytest.mark.parametrize("rule", RULES, ids=[r["alert"] for r in RULES])
def test_every_alert_reads_an_exported_metric_with_its_labels(rule: dict) -> None:
    samples = exported()
    used = selectors(rule["expr"])
    assert used or rule["expr"].startswith("up{"), "an alert on none of our metrics"
    for name, labels in used:
        assert name in samples, f"{name} is not exported by any service"
        assert set(labels) <= set(samples[name]), f"{name} has labels {samples[name]}, not {labels}"
    assert rule["labels"]["severity"] in {"critical", "warning", "info"} and rule["annotations"]["summary"]


def test_the_checker_would_notice_a_wrong_name_or_label() -> None:
    samples = exported()
    assert "tracking_backlog_events" in samples and "tracking_backlog_event" not in samples
    assert selectors('sum(rate(webhook_requests_total{outcome="x", reason="y"}[5m]))') == [
        ("webhook_requests_total", ["outcome", "reason"])]
    assert "reason" not in samples["webhook_requests_total"]


def test_scrape_targets_are_the_compose_services_and_their_ops_ports() -> None:
    prometheus = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert prometheus["rule_files"] == ["alerts.yml"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    jobs = {job["job_name"]: job["dns_sd_configs"][0] for job in prometheus["scrape_configs"]}
    assert set(jobs) == {"webhook", "webhook-worker", "admin-api", "tracking", "agent"}
    for job, target in jobs.items():
        (service,) = target["names"]
        environment = compose[service]["environment"]
        assert any(str(value).endswith(f":{target['port']}") for value in environment.values()), (
            f"{service} does not serve its ops port {target['port']} in docker-compose.yml")
        assert target["type"] == "A"  # one address per replica: every replica is scraped
    assert {r["expr"].split("{")[0] for r in RULES if r["expr"].startswith("up{")} == {"up"}
    job_filter = next(r["expr"] for r in RULES if r["expr"].startswith("up{"))
    assert all(job in job_filter for job in jobs), "PentagonServiceDown must cover every scraped job"

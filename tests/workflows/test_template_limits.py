"""Templates cannot exhaust the server: values are bounded while they are made, text while it is written,
and a render stops itself at its step's deadline, leaving no thread behind. Ordinary templates render
exactly as Jinja's sandbox renders them."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rathaus.identity.models import Role
from rathaus.identity.principal import Principal
from rathaus.services import Services
from rathaus.workflows import registry, runs
from rathaus.workflows.expressions import LimitExceeded, evaluate, render_text, render_value
from rathaus.workflows.models import StepRun, WorkflowRun
from rathaus.workflows.spec import load_workflow
from tests.conftest import TenantFixture

HUGE = "{{ 'a' * 400000000 }}"
ENDLESS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_growth_mb(work: Callable[[], Any]) -> float:
    """How far the process's resident memory rose above its level before `work`, sampled every ms."""
    base = peak = _rss()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss())
            stop.wait(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        stop.set()
        sampler.join()
    return (max(peak, _rss()) - base) / 1e6


def cpu_seconds_while_idle(seconds: float = 1.0) -> float:
    """CPU time the whole process uses while this thread sleeps (a thread left burning shows here)."""
    before = time.process_time()
    time.sleep(seconds)
    return time.process_time() - before


def refused(work: Callable[[], Any]) -> tuple[str, float]:
    """The message a render was stopped with, and how long it took."""
    started = time.monotonic()
    with pytest.raises(LimitExceeded) as caught:
        work()
    return str(caught.value), time.monotonic() - started


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads the memory from /proc")
def test_a_huge_repetition_is_refused_at_once_without_taking_memory() -> None:
    outcome: list[tuple[str, float]] = []
    grew = peak_growth_mb(lambda: outcome.append(refused(lambda: render_text(HUGE, {}))))
    ((message, seconds),) = outcome
    assert message.startswith("Vorlage '{{ 'a' * 400000000 }}' abgebrochen:")
    assert "mehr als 1.000.000 Zeichen" in message
    assert seconds < 0.5
    assert grew < 5

    message, seconds = refused(lambda: evaluate("'a' * 400000000", {}))
    assert message.startswith("Ausdruck ") and "Zeichen" in message and seconds < 0.5


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a'|center(400000000) }}",
        "{{ 'a'.ljust(400000000) }}",
        "{{ ('x' * 900000).replace('x', 'yy') }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ {'a': 1}|tojson(100000000) }}",
        "{{ []|slice(100000000)|list|length }}",
        "{{ lipsum(1000000) }}",
        "{% set a = 'x' * 600000 %}{{ a ~ a }}",
        "{% set a = 'x' * 600000 %}{{ [a, a]|length }}",
        "{% set a = 'x' * 600000 %}{{ (a + a)|length }}",
        "{{ ', '.join(['x' * 900000, 'y' * 900000]) }}",
        "{{ range(100000)|map('center', 900000)|join }}",
        "{% macro m() %}{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}{% endmacro %}"
        "{{ m()|length }}",
        "{% set s %}{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}{% endset %}{{ s|length }}",
        "{{ 7 ** 100000 }}",
        "{% for i in range(10**9) %}{% endfor %}",
        "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(1) }}",
    ],
)
def test_templates_that_would_grow_too_large_are_refused_quickly(template: str) -> None:
    message, seconds = refused(lambda: render_text(template, {}))
    assert message.startswith("Vorlage ") and " abgebrochen: " in message
    assert seconds < 1.0


def test_text_is_stopped_as_it_passes_the_output_limit() -> None:
    template = "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"  # 100 MB if it were written out
    message, seconds = refused(lambda: render_text(template, {}))
    assert "der Text wäre länger als 200.000 Zeichen" in message and seconds < 1.0


def test_an_endless_template_stops_at_its_deadline_and_leaves_no_thread() -> None:
    before = threading.active_count()
    outcome: dict[str, Any] = {}

    def render() -> None:
        try:
            render_text(ENDLESS, {}, deadline=time.monotonic() + 1.0)
        except LimitExceeded as exc:
            outcome["message"] = str(exc)

    started = time.monotonic()
    worker = threading.Thread(target=render)
    worker.start()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert 0.9 < time.monotonic() - started < 2.0
    assert "die Zeit für den Schritt ist nach 1,0 s abgelaufen" in outcome["message"]
    assert threading.active_count() == before
    assert cpu_seconds_while_idle() < 0.2


@pytest.mark.parametrize(
    "template",
    [
        "{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}",
        "{% for x in [1] recursive %}{% for y in range(100000) %}{% endfor %}"
        "{{ loop(range(100000)) }}{% endfor %}",
        "{% for i in range(100000) %}{{ range(100000)|select('odd')|list|length }}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) if j < 0 %}{% endfor %}{% endfor %}",
    ],
)
def test_other_long_templates_stop_at_their_deadline(template: str) -> None:
    message, seconds = refused(lambda: render_value({"text": template}, {}, deadline=time.monotonic() + 0.5))
    assert "Zeit für den Schritt" in message and seconds < 1.0


VARIABLES: dict[str, Any] = {
    "input": {
        "name": "Eva",
        "rows": [{"n": "a", "p": 2}, {"n": "b", "p": 5}],
        "text": "Zeile 1\nZeile 2\t!",
        "n": 7,
    },
    "steps": {"x": {"output": {"label": "Bauamt", "list": [3, 1, 2]}}},
    "run": {"id": "r1"},
}

ORDINARY = [
    "Hallo {{ input.name }}!\n",
    "{% for r in input.rows %}{{ loop.index }}. {{ r.n|upper }} {{ '%05.1f' % r.p }}"
    "{% if not loop.last %}, {% endif %}{% endfor %}",
    "{{ input.rows|map(attribute='n')|join(', ') }} {{ input.rows|sum(attribute='p') }} "
    "{{ steps.x.output.list|sort|list }}",
    "{% set ns = namespace(t='') %}{% for i in range(5) %}{% set ns.t = ns.t ~ i %}{% endfor %}{{ ns.t }} "
    "{{ [1, 2] + [3] }} {{ (1, 2) }} {{ {'a': 1} }}",
    "{% macro b(x) %}<{{ x }}>{% endmacro %}{{ b('y') }}{% macro c() %}[{{ caller() }}]{% endmacro %}"
    "{% call c() %}z{% endcall %}{% set blk %}A{{ 1 + 2 }}B{% endset %}{{ blk }}",
    "{{ input.text|indent(2) }}|{{ input.text|wordwrap(3) }}|{{ 'x'|center(9) }}|"
    "{{ input.text|replace('Zeile', 'Z') }}|{{ '{:>5}|{}'.format(1, 'b') }}",
    "{{ input|tojson }} {{ input.rows|tojson(2) }} {{ 2 ** 10 }} {{ 3 * 'ab' }} {{ 7 // 2 }} {{ 7 % 3 }}",
    "{% for a, b in [(1, 2), (3, 4)] %}{{ a }}{{ b }}{% endfor %}{% for x in [] %}{% else %}leer{% endfor %}",
    "{% for k, v in input|dictsort %}{{ k }}={{ v|string|length }};{% endfor %} "
    "{{ input.rows|batch(1, 'f')|list }} {{ input.rows|slice(2)|list|length }}",
    "{{ run.id ~ '-' ~ steps.x.output.label ~ 3 }} {{ 'a,b'.split(',') }} {{ ', '.join(['x', 'y']) }} "
    "{{ 'x'.ljust(4) }}|{{ '%s-%d'|format('a', 3) }}",
    "{% autoescape true %}{{ '<b>' ~ '&' }}{% endautoescape %} {{ '<i>'|e }} {{ 'www.example.org'|urlize }}",
    "{% for x in [1] recursive %}{{ x }}{% if x < 3 %}{{ loop([x + 1]) }}{% endif %}{% endfor %} "
    "{{ range(3)|list }} {{ input.rows|selectattr('p', 'gt', 3)|map(attribute='n')|list }} {{ 3.5|round }}",
]


def _reference() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


@pytest.mark.parametrize("template", ORDINARY)
def test_ordinary_templates_render_exactly_as_in_jinjas_sandbox(template: str) -> None:
    assert render_text(template, VARIABLES) == _reference().from_string(template).render(**VARIABLES)


@pytest.mark.parametrize(
    "expression",
    ["input.rows", "input.name ~ '!'", "input.n * 3 > 20", "[1, 2] * 2", "{'a': input.name}", "2 ** 64"],
)
def test_ordinary_expressions_keep_their_values(expression: str) -> None:
    expected = _reference().compile_expression(expression, undefined_to_none=False)(**VARIABLES)
    assert evaluate(expression, VARIABLES) == expected


def _workflow(text: str, timeout: int = 300) -> str:
    return f"""\
apiVersion: rathaus/v1
kind: Workflow
metadata: {{name: grenzen, title: Grenzen}}
spec:
  steps:
    - id: vorlage
      type: template
      retries: 0
      timeout_seconds: {timeout}
      with: {{text: "{text}"}}
"""


def _run(services: Services, tenant: TenantFixture, document: str) -> tuple[WorkflowRun, StepRun]:
    principal = Principal(tenant_id=tenant.id, role=Role.builder)
    with services.db.session(tenant.id) as session:
        registry.save(session, principal, load_workflow(document), services.catalogue)
    run_id = services.workflows.start(principal, "grenzen", {}).id
    services.workflows.run_here(run_id, 15)
    with services.db.session(tenant.id) as session:
        run = session.get(WorkflowRun, run_id)
        assert run is not None
        (step,) = runs.steps_of(session, run_id)
        return run, step


def test_a_huge_template_fails_its_step_at_once_with_a_german_reason(
    services: Services, jena: TenantFixture
) -> None:
    started = time.monotonic()
    run, step = _run(services, jena, _workflow(HUGE))
    assert time.monotonic() - started < 5
    assert run.status == "failed" and step.attempts == 1  # trying again cannot help
    assert "abgebrochen: ein Zwischenergebnis hätte mehr als 1.000.000 Zeichen" in (run.error or "")


def test_a_step_whose_template_runs_past_its_time_stops_and_frees_its_thread(
    services: Services, jena: TenantFixture
) -> None:
    _run(services, jena, _workflow("Hallo"))  # the engine's threads are started
    threads = threading.active_count()

    started = time.monotonic()
    run, step = _run(services, jena, _workflow(ENDLESS, timeout=1))
    assert time.monotonic() - started < 5
    assert run.status == "failed" and step.attempts == 1
    assert "die Zeit für den Schritt ist nach" in (run.error or "")  # the render stopped itself
    assert cpu_seconds_while_idle() < 0.2

    run, _ = _run(services, jena, _workflow("Hallo {{ run.id }}"))
    assert run.status == "succeeded"
    assert threading.active_count() == threads  # the step thread was free again, none was added

"""Calibration: how many CPU seconds a local model needs per 1,000 input and per 1,000 output tokens.

Measured on this machine with two requests: a long prompt with one output token (reading), and a short
prompt with many output tokens (writing). The figures go into the profile's energy section; they turn
token counts into energy estimates for requests that did not run on the model (the reference model's
estimate, budget reservations).
"""

from __future__ import annotations

from dataclasses import dataclass

from rathaus.llm.backend import Backend, ChatRequest, Message, Usage, collect

READING = (
    "Die Stadtverwaltung bietet Bürgerinnen und Bürgern zahlreiche Dienstleistungen an, von der Anmeldung "
    "einer Wohnung über den Personalausweis bis zur Hundesteuer. "
)
WRITING = "Zähle die Wochentage auf Deutsch auf, jeden in einem eigenen Satz, und beginne dann von vorn."


@dataclass(frozen=True)
class Calibration:
    """CPU seconds per 1,000 tokens read and written."""

    cpu_seconds_per_1k_input: float
    cpu_seconds_per_1k_output: float


def _measure(backend: Backend, request: ChatRequest) -> Usage:
    _, usage = collect(backend.chat(request))
    if usage.cpu_seconds is None:
        raise ValueError("the model reports no CPU time: calibration is for local models")
    return usage


def calibrate(backend: Backend, prompt_repeats: int = 12, output_tokens: int = 96) -> Calibration:
    """Measure reading and writing cost (the first request also warms the model up)."""
    _measure(backend, ChatRequest(messages=[Message(role="user", content="Hallo")], max_tokens=1))
    read = _measure(
        backend,
        ChatRequest(
            messages=[Message(role="user", content=READING * prompt_repeats)], max_tokens=1, temperature=0
        ),
    )
    write = _measure(
        backend,
        ChatRequest(
            messages=[Message(role="user", content=WRITING)], max_tokens=output_tokens, temperature=0
        ),
    )
    per_input = (read.cpu_seconds or 0.0) / max(read.tokens_in, 1) * 1000
    prompt_part = write.tokens_in * per_input / 1000
    per_output = max((write.cpu_seconds or 0.0) - prompt_part, 0.0) / max(write.tokens_out, 1) * 1000
    return Calibration(round(per_input, 3), round(per_output, 3))

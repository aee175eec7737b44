"""Paths of the deployment files and what the tests read from them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from rathaus.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "rathaus"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_MODELS_DIR = "/opt/rathaus/models"
"""Where the image keeps model weights (RATHAUS_MODELS_DIR); catalogue paths of bundled models start here."""

SETTING = re.compile(r"^RATHAUS_[A-Z0-9_]+$")


def unknown_settings(names: Iterable[str]) -> list[str]:
    """The names that look like Rathaus settings (RATHAUS_*) but are none."""
    known = {f"RATHAUS_{field.upper()}" for field in Settings.model_fields}
    return sorted(name for name in names if SETTING.match(name) and name not in known)

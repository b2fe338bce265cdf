"""Time the Lambda artifact build: cold (empty cache, pip runs) and warm (cache hit).

    python bench/bench_artifact.py [architecture ...]

Cold builds still use pip's own download cache, so the first run on a machine is slower by the
download time (about 20 MB of wheels).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sesmailengine.artifact import build_lambda_artifacts


def main(architectures: list[str]) -> None:
    print(f"{'target':<16} {'cold s':>7} {'warm s':>7} {'layer MB':>9} {'code KB':>8}")
    for architecture in architectures:
        with tempfile.TemporaryDirectory() as cache:
            started = time.perf_counter()
            built = build_lambda_artifacts(architecture, "3.12", cache_dir=Path(cache))
            cold = time.perf_counter() - started
            started = time.perf_counter()
            build_lambda_artifacts(architecture, "3.12", cache_dir=Path(cache))
            warm = time.perf_counter() - started
            print(
                f"{architecture + '/3.12':<16} {cold:7.2f} {warm:7.3f} "
                f"{built.layer_zip.stat().st_size / 1e6:9.1f} "
                f"{built.code_zip.stat().st_size / 1e3:8.1f}"
            )


if __name__ == "__main__":
    main(sys.argv[1:] or ["arm64", "x86_64"])

"""Versioned model artifacts: staged, checksummed, published by atomic rename, named by ``CURRENT``.

Layout under ``<home>/artifacts``::

    v0003-20261128T211500/    model.npz vocab.npz train.npz model.json index.faiss manifest.json
    CURRENT                    the live version's folder name (written atomically)

``manifest.json`` lists the sha256 of every other file; loading verifies them all first.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from recsys_tui.common.errors import RecsysError
from recsys_tui.common.fsutil import (
    atomic_write_bytes,
    atomic_write_json,
    publish_new_dir,
    sha256_file,
    staging_dir,
)

if TYPE_CHECKING:  # loading and publishing import them; reading a manifest (``status``) does not
    from recsys_tui.core.index import VectorIndex
    from recsys_tui.models.bundle import TrainedModel

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
INDEX_FILE = "index.faiss"
FORMAT = 1
RECOVER = "run `recsys-tui train` to publish a new version"
_VERSION = re.compile(r"^v(\d{4,})-\d{8}T\d{6}$")


class ArtifactError(RecsysError):
    """No usable published model (missing, corrupt or checksum mismatch)."""


@dataclass
class Artifact:
    """A loaded, verified version: the model bundle, its item index and its manifest."""

    version: str
    path: Path
    trained: TrainedModel
    index: VectorIndex | None
    manifest: dict


def versions(root: Path) -> list[str]:
    """Published version folders, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and _VERSION.match(p.name))


def current_version(root: Path) -> str | None:
    """The version ``CURRENT`` names, or ``None`` when nothing was published."""
    try:
        name = (root / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArtifactError(f"cannot read {root / CURRENT}: {exc.strerror}") from None
    if not _VERSION.match(name):
        raise ArtifactError(f"{root / CURRENT} names no valid version ({name[:40]!r}); {RECOVER}")
    return name


PUBLISH_ATTEMPTS = 100


def _number(version: str) -> int:
    return int(_VERSION.match(version).group(1))  # type: ignore[union-attr]


def _next_version(root: Path, after: str | None = None) -> str:
    """A name numbered above every published version (and above ``after``, a name just lost)."""
    numbers = [_number(v) for v in versions(root)] + ([_number(after)] if after else [])
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return f"v{(max(numbers) + 1) if numbers else 1:04d}-{stamp}"


STALE_STAGING_S = 3600
"""Staged folders older than this were left by a killed publish (a live one takes seconds)."""


def sweep_staging(root: Path) -> list[str]:
    """Remove staged folders a killed publish left behind; return their names."""
    if not root.is_dir():
        return []
    now = time.time()
    stale = [p for p in root.glob(".v*.tmp") if p.is_dir() and now - p.stat().st_mtime > STALE_STAGING_S]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return [p.name for p in stale]


def publish(root: Path, trained: TrainedModel, *, index_kind: str = "flat",
            info: dict | None = None, make_current: bool = True,
            timings: dict[str, float] | None = None, started: float | None = None) -> str:
    """Write a complete new version beside the others, then point ``CURRENT`` at it.

    A crash at any point leaves the previous version current and no partial folder visible. The
    manifest's ``timings`` are the caller's ``timings`` plus ``publish_s`` (this call up to the
    manifest: model files, index, checksums) and, given ``started`` (a ``perf_counter`` reading
    taken when the caller's work began), ``total_s`` measured from it to the same point.
    """
    from recsys_tui.core.index import VectorIndex

    publish_start = time.perf_counter()
    sweep_staging(root)
    version = _next_version(root)
    with staging_dir(root, version) as staged:
        trained.save(staged)
        index = None
        if trained.is_embedding:
            index = VectorIndex.build(trained.model.item_factors, index_kind,
                                        tune_queries=trained.model.user_factors)
            index.save(staged / INDEX_FILE)
        files = sorted(p.name for p in staged.iterdir() if p.is_file())
        manifest = {
            "format": FORMAT,
            "version": version,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "model": trained.name,
            "params": trained.model.params,
            "index": index.kind if index else None,
            "n_users": len(trained.users),
            "max_user_id": int(trained.users.ids.max()) if len(trained.users) else 0,
            "n_items": len(trained.items),
            "sha256": {name: sha256_file(staged / name) for name in files},
            **(info or {}),
        }
        now = time.perf_counter()
        manifest["timings"] = {**(timings or {}), "publish_s": now - publish_start}
        if started is not None:
            manifest["timings"]["total_s"] = now - started
        for _attempt in range(PUBLISH_ATTEMPTS):  # another publish may take the name first
            atomic_write_json(staged / MANIFEST, {**manifest, "version": version})
            if publish_new_dir(staged, root / version):
                break
            version = _next_version(root, after=version)
        else:
            raise ArtifactError(f"could not find a free version name in {root} after "
                                f"{PUBLISH_ATTEMPTS} attempts (many publishes at once?)")
    if make_current:
        set_current(root, version)
    return version


def max_user_id(root: Path) -> int:
    """The largest user id any published version was trained on (``train --ratings`` users too)."""
    found = 0
    for version in versions(root):
        try:
            value = json.loads((root / version / MANIFEST).read_text()).get("max_user_id", 0)
        except (OSError, ValueError, AttributeError):
            continue  # an unreadable manifest is reported when that version is loaded
        if isinstance(value, int):
            found = max(found, value)
    return found


def set_current(root: Path, version: str) -> None:
    """Atomically make ``version`` the live one."""
    if version not in versions(root):
        raise ArtifactError(f"no published version {version!r} in {root}")
    atomic_write_bytes(root / CURRENT, (version + "\n").encode())


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{folder.name}: manifest.json is missing; {RECOVER}") from None
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{folder.name}: manifest.json is unreadable ({exc}); {RECOVER}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("sha256"), dict):
        raise ArtifactError(f"{folder.name}: manifest.json has no checksums; {RECOVER}")
    return manifest


def verify(folder: Path) -> dict:
    """Check every file against the manifest's sha256; return the manifest.

    The files are hashed on two threads, largest first (hashlib releases the GIL while it
    hashes, so the training matrix and the rest go side by side: at synthetic ML-25M, 260 MB,
    0.20 → 0.14 s warm)."""
    from concurrent.futures import ThreadPoolExecutor

    manifest = read_manifest(folder)
    checks = []
    for name, digest in manifest["sha256"].items():
        path = folder / name
        if "/" in name or not path.is_file():
            raise ArtifactError(f"{folder.name}: {name} is missing; {RECOVER}")
        checks.append((path.stat().st_size, name, digest))
    checks.sort(reverse=True)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify") as pool:
        found = list(pool.map(sha256_file, (folder / name for _, name, _ in checks)))
    for (_, name, digest), got in zip(checks, found, strict=True):
        if got != digest:
            raise ArtifactError(f"{folder.name}: {name} fails its sha256 check (corrupt); {RECOVER}")
    return manifest


def load(root: Path, version: str | None = None) -> Artifact:
    """Load and verify ``version`` (default: the current one)."""
    from recsys_tui.core.index import VectorIndex, VectorIndexError
    from recsys_tui.models.base import ModelError
    from recsys_tui.models.bundle import TrainedModel

    version = version or current_version(root)
    if version is None:
        raise ArtifactError(f"no trained model in {root}; {RECOVER}")
    folder = root / version
    if not folder.is_dir():
        raise ArtifactError(f"version {version} named by CURRENT is missing; {RECOVER}")
    manifest = verify(folder)
    try:
        trained = TrainedModel.load(folder)
        index = None
        if manifest.get("index"):
            index = VectorIndex.load(folder / INDEX_FILE, manifest["index"])
    except (ModelError, VectorIndexError) as exc:
        raise ArtifactError(f"{version}: {exc}; {RECOVER}") from None
    if index is not None and index.size != len(trained.items):
        raise ArtifactError(f"{version}: index holds {index.size} items, model {len(trained.items)}")
    return Artifact(version, folder, trained, index, manifest)

"""Versioned artifacts: publish → load → verify round trip, CURRENT, refusal of damaged versions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from recsys_tui.common.fsutil import sha256_file
from recsys_tui.core import artifacts
from recsys_tui.core.artifacts import ArtifactError
from recsys_tui.core.index import VectorIndexError
from recsys_tui.data.movielens import Interactions
from recsys_tui.models.bundle import TrainedModel

RECOVER = "recsys-tui train"


def tiny_interactions(seed: int = 0) -> Interactions:
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(1, 21):
        picked = rng.choice(np.arange(1, 31), 8, replace=False)
        users += [u] * 8
        items += picked.tolist()
    n = len(users)
    return Interactions.from_arrays(users, items, rng.integers(1, 6, n), np.arange(n))


@pytest.fixture(scope="module")
def als() -> TrainedModel:
    return TrainedModel.fit("als", tiny_interactions(), factors=4, iterations=3)


@pytest.fixture(scope="module")
def popularity() -> TrainedModel:
    return TrainedModel.fit("popularity", tiny_interactions(1))


def test_publish_load_round_trip(tmp_path, als):
    root = tmp_path / "artifacts"
    version = artifacts.publish(root, als, info={"note": "x"})
    assert artifacts.current_version(root) == version
    assert (root / "CURRENT").read_text().strip() == version
    assert artifacts.versions(root) == [version]
    loaded = artifacts.load(root)
    assert loaded.version == version
    assert loaded.manifest["model"] == "als" and loaded.manifest["note"] == "x"
    assert loaded.manifest["params"]["factors"] == 4
    np.testing.assert_array_equal(loaded.trained.model.item_factors, als.model.item_factors)
    np.testing.assert_array_equal(loaded.trained.model.user_factors, als.model.user_factors)
    np.testing.assert_array_equal(loaded.trained.items.ids, als.items.ids)
    assert (loaded.trained.train != als.train).nnz == 0
    assert loaded.index is not None and loaded.index.size == len(als.items)
    assert loaded.trained.recommend(3, 5) == als.recommend(3, 5)
    folder = root / version
    files = sorted(p.name for p in folder.iterdir() if p.name != "manifest.json")
    assert sorted(loaded.manifest["sha256"]) == files
    assert all(sha256_file(folder / f) == d for f, d in loaded.manifest["sha256"].items())
    assert artifacts.verify(folder)["version"] == version
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []


def test_non_embedding_model_has_no_index(tmp_path, popularity):
    root = tmp_path / "a"
    artifacts.publish(root, popularity)
    loaded = artifacts.load(root)
    assert loaded.index is None and loaded.manifest["index"] is None
    assert loaded.trained.recommend(1, 3) == popularity.recommend(1, 3)


def test_versions_are_numbered_and_current_follows_the_newest(tmp_path, als, popularity):
    root = tmp_path / "a"
    v1 = artifacts.publish(root, als)
    v2 = artifacts.publish(root, popularity)
    assert v1.startswith("v0001-") and v2.startswith("v0002-")
    assert artifacts.versions(root) == [v1, v2]
    assert artifacts.load(root).trained.name == "popularity"
    assert artifacts.load(root, v1).trained.name == "als"  # older versions stay loadable
    v3 = artifacts.publish(root, als, make_current=False)
    assert artifacts.current_version(root) == v2
    artifacts.set_current(root, v3)
    assert artifacts.load(root).version == v3
    with pytest.raises(ArtifactError):
        artifacts.set_current(root, "v0099-20990101T000000")


def test_failed_publish_leaves_the_previous_version_current(tmp_path, als):
    root = tmp_path / "a"
    v1 = artifacts.publish(root, als)
    with pytest.raises(VectorIndexError):
        artifacts.publish(root, als, index_kind="no-such-index")  # fails after the model was staged
    assert artifacts.current_version(root) == v1
    assert artifacts.versions(root) == [v1]
    assert sorted(p.name for p in root.iterdir()) == ["CURRENT", v1]
    assert artifacts.load(root).version == v1


def published(tmp_path: Path, trained: TrainedModel) -> tuple[Path, Path]:
    root = tmp_path / "a"
    version = artifacts.publish(root, trained)
    return root, root / version


def refused(root: Path, *words: str) -> str:
    with pytest.raises(ArtifactError) as info:
        artifacts.load(root)
    message = str(info.value)
    assert RECOVER in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def test_tampered_byte_is_refused(tmp_path, als):
    root, folder = published(tmp_path, als)
    raw = bytearray((folder / "model.npz").read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (folder / "model.npz").write_bytes(bytes(raw))
    refused(root, "model.npz", "sha256")


def test_truncated_npz_is_refused_even_with_a_matching_checksum(tmp_path, als):
    """The manifest is rewritten to match the truncated file: the loader itself must refuse it."""
    root, folder = published(tmp_path, als)
    path = folder / "train.npz"
    path.write_bytes(path.read_bytes()[:100])
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"]["train.npz"] = sha256_file(path)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refused(root)


@pytest.mark.parametrize("name", ["model.npz", "vocab.npz", "index.faiss", "manifest.json"])
def test_missing_file_is_refused(tmp_path, als, name):
    root, folder = published(tmp_path, als)
    (folder / name).unlink()
    refused(root, name)


def test_missing_version_folder_and_bad_pointer(tmp_path, als):
    root, _ = published(tmp_path, als)
    (root / "CURRENT").write_text("../../etc\n")
    refused(root, "CURRENT")
    (root / "CURRENT").write_text("v0042-20990101T000000\n")
    refused(root, "missing")
    (root / "CURRENT").unlink()
    refused(root, "no trained model")
    assert artifacts.current_version(tmp_path / "never") is None
    refused(tmp_path / "never")

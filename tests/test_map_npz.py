"""``map_npz`` maps what ``save_npz`` wrote without copying, and refuses what ``load_npz`` refuses."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from recsys_tui.common.fsutil import load_npz, map_npz, save_npz


def test_mapped_arrays_equal_loaded_ones_and_are_read_only(tmp_path):
    path = tmp_path / "a.npz"
    arrays = {"i": np.arange(10, dtype=np.int32), "f": np.linspace(0, 1, 12).reshape(3, 4),
              "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "s": np.array("text"),
              "empty": np.zeros((0, 64), np.float32), "u": np.array(["ab", "c"])}
    save_npz(path, **arrays)
    mapped, loaded = map_npz(path), load_npz(path)
    assert set(mapped) == set(arrays)
    for name, want in arrays.items():
        assert mapped[name].dtype == loaded[name].dtype and np.array_equal(mapped[name], want), name
    with pytest.raises(ValueError):
        mapped["i"][0] = 5  # read-only: nobody writes into a published file
    assert map_npz(_write(tmp_path / "none.npz", {})) == {}


def _write(path, members: dict[str, bytes], compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def test_objects_truncation_and_garbage_are_refused(tmp_path):
    with pytest.raises(ValueError, match="objects"):
        map_npz(_write(tmp_path / "o.npz", {"x.npy": _npy(np.array([{"a": 1}], dtype=object))}))
    whole = tmp_path / "w.npz"
    save_npz(whole, x=np.arange(1000))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[:4000])
    with pytest.raises(ValueError):
        map_npz(cut)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"no zip here")
    with pytest.raises(ValueError):
        map_npz(junk)


def test_a_compressed_archive_is_read_as_load_npz_reads_it(tmp_path):
    path = _write(tmp_path / "c.npz", {"x.npy": _npy(np.arange(50))}, zipfile.ZIP_DEFLATED)
    assert map_npz(path)["x"].tolist() == list(range(50))


def test_a_published_models_factors_stay_mapped(home):
    """The ALS factors of a loaded artifact are the file's pages (no float32 copy at open)."""
    from recsys_tui.core import artifacts

    model = artifacts.load(home.artifacts).trained.model
    mapped = map_npz(artifacts.load(home.artifacts).path / "model.npz")
    for name in ("user_factors", "item_factors"):
        got = getattr(model, name)
        assert got.dtype == np.float32 and not got.flags.writeable  # the read-only map, not a copy
        assert np.array_equal(got, mapped[name])

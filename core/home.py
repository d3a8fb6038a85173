"""Where recsys-tui keeps its state: dataset cache, artifact versions and the event log."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_dir
from recsys_tui.common.errors import RecsysError
from recsys_tui.data.registry import DEFAULT_DATASET, check_name

HOME_ENV = "RECSYS_TUI_HOME"
REDIS_ENV = "RECSYS_TUI_REDIS_URL"
DATASET_ENV = "RECSYS_TUI_DATASET"


class HomeError(RecsysError):
    """The home folder cannot be used (not writable, not a folder)."""


@dataclass(frozen=True)
class Home:
    """One folder holding everything recsys-tui writes.

    Data set caches sit side by side in ``data/``; each data set other than ML-100K keeps its own
    artifacts, event log and reports under ``sets/<name>/`` (ML-100K keeps the original places).
    """

    root: Path
    dataset: str = DEFAULT_DATASET

    def __post_init__(self) -> None:
        check_name(self.dataset)

    @staticmethod
    def resolve(explicit: str | Path | None = None, dataset: str | None = None) -> Home:
        """``--home``, else ``$RECSYS_TUI_HOME``, else the platform's user data folder; the data set
        is ``dataset``, else ``$RECSYS_TUI_DATASET``, else ml-100k."""
        raw = explicit or os.environ.get(HOME_ENV) or user_data_dir("recsys-tui", appauthor=False)
        name = dataset or os.environ.get(DATASET_ENV) or DEFAULT_DATASET
        return Home(Path(raw).expanduser().absolute(), name)

    def with_dataset(self, name: str) -> Home:
        """The same home working on data set ``name``."""
        return Home(self.root, name)

    @property
    def _own(self) -> Path:
        return self.root if self.dataset == DEFAULT_DATASET else self.root / "sets" / self.dataset

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def artifacts(self) -> Path:
        return self._own / "artifacts"

    @property
    def event_log(self) -> Path:
        return self._own / "events.sqlite3"

    @property
    def reports(self) -> Path:
        return self._own / "reports"

    def ensure(self) -> Home:
        """Create the folder, or raise ``HomeError`` saying why it cannot be used."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HomeError(f"cannot create home {self.root}: {exc.strerror or exc}") from None
        if not self.root.is_dir():
            raise HomeError(f"home {self.root} is not a folder")
        if not os.access(self.root, os.W_OK):
            raise HomeError(f"home {self.root} is not writable (use --home or {HOME_ENV})")
        self._make_private()
        return self

    def _make_private(self) -> None:
        """Take group and other permissions off the home and everything in it.

        A home made before homes were private, or with files copied in, is tightened whenever it is
        used: folders 0700, files 0600 at most (a walk over a few dozen entries). Owner permissions
        are never added.
        """
        try:
            mode = stat.S_IMODE(self.root.stat().st_mode)
            for folder, dirs, files in os.walk(self.root):
                for name in (*dirs, *files):
                    path = os.path.join(folder, name)
                    with contextlib.suppress(FileNotFoundError):  # renamed away by a live publish
                        info = os.lstat(path)
                        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                            os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)
            if mode & 0o077:
                os.chmod(self.root, mode & 0o700)
        except OSError as exc:
            raise HomeError(f"cannot make home {self.root} private: {exc.strerror or exc}") from None

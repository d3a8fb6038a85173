"""The SSH demo recipe of docs/DISTRIBUTED.md §5, tried for real on loopback.

A throw-away ``sshd`` (its own host key, config and authorized key in a temp folder, listening on
a free 127.0.0.1 port) forces ``env RECSYS_TUI_HOME=… recsys-tui`` as the recipe says; two
``ssh -t`` clients run inside a private tmux server. Both sessions open the app on one shared
home, a rating made from the command line on that home shows in the logged-in session, and
``ctrl+q`` ends the SSH session with exit status 0. Skipped when sshd, ssh or tmux is missing
(``.ci/run`` installs them; ``RECSYS_TUI_REQUIRE_SSH=1`` turns the skip into a failure).
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from recsys_tui.faults.servers import free_port
from recsys_tui.faults.workload import run_cli

pytestmark = [pytest.mark.slow]

SSHD = "/usr/sbin/sshd"
WAIT_S = 60.0


def _require() -> None:
    missing = [name for name, found in (("sshd", os.access(SSHD, os.X_OK)), ("ssh", shutil.which("ssh")),
                                        ("ssh-keygen", shutil.which("ssh-keygen")),
                                        ("tmux", shutil.which("tmux"))) if not found]
    if missing:
        message = f"{', '.join(missing)} missing (CI installs openssh-server, openssh-client, tmux)"
        if os.environ.get("RECSYS_TUI_REQUIRE_SSH") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _start_sshd(folder: Path, home: Path) -> tuple[subprocess.Popen, int]:
    """sshd on a free loopback port whose only login runs the app, as in the recipe."""
    for key in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True,
                       timeout=30)
    (folder / "authorized_keys").write_text((folder / "client.pub").read_text())
    os.chmod(folder / "authorized_keys", 0o600)
    app = Path(sys.executable).with_name("recsys-tui")
    port = free_port()
    (folder / "sshd_config").write_text(f"""
Port {port}
ListenAddress 127.0.0.1
HostKey {folder / "host"}
PidFile {folder / "sshd.pid"}
AuthorizedKeysFile {folder / "authorized_keys"}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
Match User {getpass.getuser()}
    ForceCommand env RECSYS_TUI_HOME={home} {app}
    PermitTTY yes
    AllowTcpForwarding no
    X11Forwarding no
""")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    proc = subprocess.Popen([SSHD, "-D", "-f", str(folder / "sshd_config"), "-E", str(folder / "sshd.log")])
    deadline = time.monotonic() + WAIT_S
    while "Server listening" not in _read(folder / "sshd.log"):
        assert proc.poll() is None and time.monotonic() < deadline, _read(folder / "sshd.log")
        time.sleep(0.05)
    return proc, port


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


class Tmux:
    """A private tmux server (its own socket) whose windows run ``ssh -t``."""

    def __init__(self, folder: Path) -> None:
        (folder / "tmux.conf").write_text("set -g remain-on-exit on\n")  # a dead pane keeps its status
        self.base = ["tmux", "-S", str(folder / "s"), "-f", str(folder / "tmux.conf")]

    def __call__(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout

    def screen(self, name: str) -> str:
        return self("capture-pane", "-p", "-t", name)

    def wait_for(self, name: str, text: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while text not in (screen := self.screen(name)):
            assert time.monotonic() < deadline, f"{text!r} never showed:\n{screen}"
            time.sleep(0.2)
        return screen

    def run(self, name: str, command: str, status: Path, first: bool = False) -> None:
        """``command`` in a new window (or the session's first) that writes its exit status to
        ``status`` when it ends."""
        line = f"{command}; echo $? > {status}"
        if first:
            self("new-session", "-d", "-s", name, "-x", "100", "-y", "30", line)
        else:
            session, window = name.split(":")
            self("new-window", "-d", "-t", f"{session}:", "-n", window, line)


def _exit_status(path: Path) -> str:
    deadline = time.monotonic() + WAIT_S
    while not _read(path).strip():
        assert time.monotonic() < deadline, "the SSH session did not end"
        time.sleep(0.2)
    return _read(path).strip()


def test_ssh_t_runs_the_app_per_the_recipe_on_a_shared_home(home, tmp_path):
    _require()
    folder = tmp_path / "ssh"
    folder.mkdir()
    sshd, port = _start_sshd(folder, home.root)
    sockets = Path(tempfile.mkdtemp(prefix="rt-tmux-"))  # a socket path must stay short
    tmux = Tmux(sockets)
    ssh = (f"ssh -t -p {port} -i {folder / 'client'} -o StrictHostKeyChecking=no -o BatchMode=yes "
           f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR {getpass.getuser()}@127.0.0.1")
    try:
        tmux.run("a", ssh, folder / "exit-a", first=True)
        tmux.run("a:b", ssh, folder / "exit-b")
        tmux.wait_for("a", "Who are you?")
        tmux.wait_for("a:b", "Who are you?")  # two sessions on one home at once
        tmux.wait_for("a", "943 users")  # the login screen shows first; the table fills after
        tmux("send-keys", "-t", "a", "Enter")  # the first user in the login list: user 1
        tmux.wait_for("a", "Recommendations")
        rc, _, err = run_cli(["--home", str(home.root), "rate", "-u", "1", "-i", "50", "-r", "1"])
        assert rc == 0, err
        tmux.wait_for("a", "another session")  # the session learns the rating made elsewhere
        for name in ("a", "a:b"):
            tmux("send-keys", "-t", name, "C-q")
        assert _exit_status(folder / "exit-a") == "0"  # ssh's own exit status: the app's, 0
        assert _exit_status(folder / "exit-b") == "0"
        assert "Accepted publickey" in _read(folder / "sshd.log")
    finally:
        subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=30)
        sshd.terminate()
        sshd.wait(10)
        shutil.rmtree(sockets, ignore_errors=True)

"""Open the desktop a run names: :func:`open_desktop`."""

from __future__ import annotations

from agent.desktops.base import DEFAULT_PRIVATE_SIZE, DesktopConnection, DesktopSpec
from agent.screen.capture import MonitorChoice

__all__ = ["open_desktop"]


def open_desktop(
    desktop: DesktopSpec | str = "local",
    *,
    password: str | None = None,
    monitor: MonitorChoice = "primary",
    scale: float | None = None,
    settle_s: float = 0.05,
    dry_run: bool = False,
    timeout_s: float = 5.0,
    watch: bool = True,
) -> DesktopConnection:
    """The desktop ``desktop`` names (``local``, ``private[:WxH]``, ``vnc://HOST:PORT``), open;
    close it (or use it in a ``with`` block) to end it. ``password``: a VNC server's;
    ``monitor``/``scale``: the local screen's; ``dry_run``: actions are checked and recorded,
    never executed; ``timeout_s``: a VNC connection's; ``watch``: serve a private display over
    VNC on 127.0.0.1. Raises ConfigurationError (one line) for a desktop that cannot be opened."""
    spec = desktop if isinstance(desktop, DesktopSpec) else DesktopSpec.parse(desktop)
    if spec.kind == "private":
        from agent.desktops.private import PrivateDesktop

        return PrivateDesktop(spec.size or DEFAULT_PRIVATE_SIZE, settle_s=settle_s, dry_run=dry_run,
                              watch=watch)  # fmt: skip
    if spec.kind == "vnc":
        from agent.desktops.vnc import VNCDesktop

        return VNCDesktop(spec, password, timeout_s=timeout_s, settle_s=settle_s, dry_run=dry_run)
    from agent.desktops.local import LocalDesktop

    return LocalDesktop(monitor=monitor, scale=scale, settle_s=settle_s, dry_run=dry_run)

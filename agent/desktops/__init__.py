"""Desktops: what a run drives, named by one string (``--desktop``, ``desktop=``).

* :mod:`agent.desktops.base`: :class:`~agent.desktops.base.DesktopSpec` (``local``,
  ``private[:WxH]``, ``vnc://HOST:PORT``) and :class:`~agent.desktops.base.DesktopConnection`, a
  screen and an executor opened and closed together;
* :mod:`agent.desktops.connect`: :func:`~agent.desktops.connect.open_desktop`;
* :mod:`agent.desktops.local`: this machine's display (mss and pyautogui);
* :mod:`agent.desktops.private`: a private Xvfb display for the run, watchable over VNC;
* :mod:`agent.desktops.vnc`: any VNC server, through :mod:`agent.desktops.rfb`, our RFB client
  (timeouts on every call, a server that dies is noticed within seconds).
"""

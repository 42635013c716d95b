"""The screen: what the loop observes.

* :mod:`agent.screen.capture`: :class:`~agent.screen.capture.Screen` (a monitor through mss, with
  its origin and scale), :class:`~agent.screen.capture.ImageScreen` (a picture, for tests) and
  the settled screen replay waits for;
* :mod:`agent.screen.shared_pixels`: reading mss's X11 shared-memory segment in place;
* :mod:`agent.screen.changes`: the note a capture carries of which rows changed;
* :mod:`agent.screen.matching`: screen comparison and patch matching (the loop guard, the
  location cache, replay);
* :mod:`agent.screen.png`: PNG encoding that redoes only the changed bands;
* :mod:`agent.screen.xvfb`: a private virtual display (Xvfb), for the demo, the UI and tests.
"""

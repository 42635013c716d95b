"""The MCP server: the desktop as tools for any agent (``gui-agent mcp``; the ``mcp`` extra).

* :mod:`agent.mcp.server`: the ``MCPServer`` and its tools (``screenshot``, ``locate``,
  ``click``, ``type``, ``press``, ``scroll``, ``drag``, ``wait_for``, ``run_task``, ``act``),
  each call in a worker thread under a timeout, errors as one-line tool errors; stdio, or
  streamable HTTP on 127.0.0.1 behind a bearer token;
* :mod:`agent.mcp.session`: what the tools do, on one desktop and one script session (one
  trajectory): one call at a time, abandoned calls stopped, held keys released;
* :mod:`agent.mcp.calls`: the deciders of its own steps: the screenshot, and actions at points
  of the last screenshot (converted by the one conversion, like a model's);
* :mod:`agent.mcp.snapshot`: the capped screenshot (longest side and PNG size) and its frame.

Only :mod:`agent.mcp.server` imports the SDK; the command (:mod:`agent.cli.serve_mcp`) reads the
options and the token and imports it when it runs.
"""

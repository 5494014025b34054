"""``kubectl nethealth``: the operator's data and probe, by hand, from a workstation.

The plugin answers a person's three questions without writing a NetHealthCheck: *is
this pod's network broken, and where?* (``diagnose``: one probe Job on the pod's node),
*what do my checks say?* (``status``) and *undo the hostNetwork fallback* (``revert``).

Its modules keep pure logic apart from API calls, as the operator does: ``options``
(flags into validated values), ``diagnosis`` (a probe result into a verdict and exit
code), ``progress`` (a Job's state into the step shown while waiting), ``render`` and
``table`` (text for people) never import the Kubernetes client; ``api`` is the plugin's
only module that calls the API, ``session`` runs one diagnosis with its cleanup, and
``entry`` is the ``kubectl-nethealth`` console script.
"""

"""The only package that imports the Kubernetes client.

``client.Client`` is the operator's (async, one object with every call it makes, behind the
``client.Api`` protocol the loop shells take); ``blocking`` holds the command line's
synchronous calls; ``connection`` finds the cluster; ``errors.KubeError`` is the one error
type above this package; ``view`` is the shared view of pods and nodes every check reads,
kept by ``watching``.
"""

from nethealth.kube.client import Api, Client
from nethealth.kube.errors import KubeError
from nethealth.kube.view import View

__all__ = ["Api", "Client", "KubeError", "View"]

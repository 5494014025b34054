"""A real single-node Kubernetes cluster built and run on this machine, for tests and the demo."""

"""HTTP plumbing both edges share (the JSON API in ``api/``, the pages in ``web/``): request
dependencies, the one mapping of failures to answers, responses, and the ASGI guards. It
knows the services but neither edge; both edges import it, never each other."""

"""The fan's web app: server-rendered pages, their static assets and the guest session."""

"""The process harness: runs TorchServe and the proxy as one deployment, in the foreground, and stops
them all or nothing. ``make serve`` (``python -m harness``), the integration tests and the
benchmark all start the service through it."""

"""The terminal chat adapter: the same conversation on stdin and stdout."""

"""Thin RQ job functions: ids in, a service called, errors left to raise so RQ retries them."""

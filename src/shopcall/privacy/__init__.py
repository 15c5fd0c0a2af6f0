"""Subject access and erasure (GDPR articles 15, 17 and 20): one shopper's data, exported or erased."""

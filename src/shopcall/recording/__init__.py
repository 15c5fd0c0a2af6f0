"""Recording: capture through the media server, post-processing, storage and retention."""

"""Call quality: client telemetry, MOS estimates, network-quality levels and simulcast layer control."""

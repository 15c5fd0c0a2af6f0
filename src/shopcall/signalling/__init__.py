"""WebSocket signalling: authorises every client message and drives the media backend."""

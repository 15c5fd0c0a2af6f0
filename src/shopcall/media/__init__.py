"""Media plane: the SFU behind one interface, so nothing else speaks Janus's protocol."""

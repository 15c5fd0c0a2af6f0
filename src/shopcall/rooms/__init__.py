"""Room and call records: the durable side of what the signalling hub does live."""

"""Managed TURN: coturn configured, started and supervised by ShopCall, and the credentials and
`ice_servers` each client gets, so shoppers behind UDP-blocking firewalls still connect."""

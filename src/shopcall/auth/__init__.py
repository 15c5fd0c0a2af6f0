"""Authentication: app secrets for merchant servers, short-lived JWTs for browsers."""

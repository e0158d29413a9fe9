"""Local stand-ins for the providers: real HTTP servers on 127.0.0.1 that check requests
as the provider does and answer with the provider's real bodies."""

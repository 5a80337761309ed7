"""Local fake servers that speak the wire formats of the services Sidekick talks to."""

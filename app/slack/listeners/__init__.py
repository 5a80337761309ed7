"""Bolt listeners, one module per kind (actions, views, events), each with `register(app)`."""

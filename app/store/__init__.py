"""The relational store: tickets, triage results, decisions and deliveries (SQLAlchemy 2)."""

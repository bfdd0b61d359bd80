"""Delivery: an edition to every subscriber exactly once, over the ledger, through one
``Transport`` Protocol (outbox, SendGrid, memory), and the provider's events back.
"""

"""Sections: each story goes to the configured section it fits; the rest form automatic
groups.
"""

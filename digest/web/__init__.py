"""The web app served by ``digest serve`` (``web.app``): the editor's desk, the
subscriber pages, the archive, the webhook, health.
"""

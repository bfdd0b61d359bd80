"""Sources: where raw documents come from. One module per kind (feed, page, folder,
OPML, JSON Lines) behind one Protocol (``source``).
"""

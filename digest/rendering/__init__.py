"""Rendering: an edition to email HTML (Jinja2 -> MJML -> HTML, CSS inlined), a plain-
text part and a web page.
"""

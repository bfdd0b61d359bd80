"""Cleaning: raw documents (pages, fragments, scraped text) to articles with a title
and a body of paragraphs (``articles.clean``).
"""

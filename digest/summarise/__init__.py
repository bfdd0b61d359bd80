"""Summaries: extractive (``extractive``) or through an OpenAI-compatible endpoint
(``llm``).
"""

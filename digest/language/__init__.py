"""Words and sentences: sentence splitting without downloaded data."""

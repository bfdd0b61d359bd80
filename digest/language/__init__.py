"""Languages: tags, the language of untagged articles, stop words and text rules per
language (sentences, words, abbreviations), and the catalogues of the words readers
see in the email and on the pages."""

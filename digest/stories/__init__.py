"""Stories: articles about the same event merged, headed and ranked, and updates of
stories already sent.
"""

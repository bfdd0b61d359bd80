"""The scheduler: schedules as data (``plans``), their APScheduler wiring and the
scheduler process (``wiring``, ``service``), catch-up of unfinished editions
(``catchup``), monitoring (``health``) and alerts (``alerts``).
"""

"""The scheduler: schedules as data (``plans``) and their APScheduler wiring
(``wiring``).
"""

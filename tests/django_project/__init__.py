"""A small Django project on riverboat.contrib.django, run by tests/test_django.py: an
order is placed and its shipping job enqueued in one transaction, then worked by
``manage.py riverboat_work``."""

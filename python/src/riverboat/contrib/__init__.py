"""Integrations with web frameworks. Each imports its framework, which an extra installs
(``pip install 'riverboat[django]'``)."""

"""Optional additions to riverboat, each behind an extra that installs what it imports:
integrations with web frameworks (``django``: ``pip install 'riverboat[django]'``),
``riverlog`` (per-job logs kept in the job's metadata, as River's riverlog; no extra) and
``opentelemetry`` (traces and metrics as River's otelriver: ``riverboat[otel]``)."""

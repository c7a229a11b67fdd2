"""The survey-ingestion service (``geowarn serve``): programmes, drop folders, scheduled jobs, one lock per database."""

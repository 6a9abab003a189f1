"""The WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from eventhub import create_app

app = create_app()

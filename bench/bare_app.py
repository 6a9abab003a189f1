"""The smallest Flask app: the ceiling any EventHub page is measured against."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok():
    return "ok"

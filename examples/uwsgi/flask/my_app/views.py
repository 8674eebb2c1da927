import os

from my_app import app


@app.route("/")
def index() -> str:
    app_name = os.getenv("APP_NAME")
    if app_name:
        return f"Hello from {app_name} running in a Docker container behind Nginx!"
    return "Hello from Flask"

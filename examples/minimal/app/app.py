"""Seeds 001 and 003: one Flask container, started with `python app.py`."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello Docker World!"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=5000)

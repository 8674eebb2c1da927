"""The app's /metrics through the proxy: refused unless the stack makes it public."""

from __future__ import annotations

from pathlib import Path

from deployer.core import nginx

ROOT = Path(__file__).parents[2]


def _rendered(public: bool) -> str:
    template = (ROOT / "nginx/nginx.conf.template").read_text()
    return nginx.render(
        template, "nginx.conf.template", upstream="web", addresses=["web:8000"],
        public_metrics=public,
    )  # fmt: skip


def _metrics_block(config: str) -> str:
    start = config.index("location = /metrics {")
    return config[start : config.index("}", start)]


def test_metrics_answer_404_through_the_proxy_by_default() -> None:
    assert "return 404;" in _metrics_block(_rendered(public=False))


def test_public_metrics_pass_through() -> None:
    block = _metrics_block(_rendered(public=True))
    assert "return 404;" not in block and "proxy_pass http://web;" in block

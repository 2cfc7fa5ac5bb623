"""``python -m app``: serve the lab on http://127.0.0.1:7860 (GRADIO_SERVER_NAME / _PORT override)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

if __name__ == "__main__":
    from app.server import serve

    serve()

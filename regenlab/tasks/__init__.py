"""Built-in tasks; importing this package registers them."""

from regenlab.tasks import image, tts  # noqa: F401

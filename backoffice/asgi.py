import os

from django.core.asgi import get_asgi_application

from backoffice.runtime import settle_memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
application = get_asgi_application()
settle_memory()  # after start-up: the collector leaves what was loaded alone (backoffice/runtime.py)

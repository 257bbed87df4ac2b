import os

from django.core.wsgi import get_wsgi_application

from backoffice.runtime import settle_memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
application = get_wsgi_application()
settle_memory()  # after start-up: the collector leaves what was loaded alone (backoffice/runtime.py)

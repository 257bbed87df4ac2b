"""Per-endpoint caps on request bodies that carry a file (imports, product images).

Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count file parts of a multipart body, and
``FILE_UPLOAD_MAX_MEMORY_SIZE`` only decides between memory and a temporary file: neither refuses a
60 MB upload, and the services' own size checks run after the whole body has been received. So the
views that take a file compare the declared ``Content-Length`` with their cap *before* anything reads
the body (Django never reads past ``Content-Length``, so the header bounds what can arrive) and answer
413 with the reason.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from backoffice.errors import ServiceError
from catalog.services.images import MAX_BYTES as IMAGE_MAX_BYTES
from catalog.services.transfer import MAX_UPLOAD as IMPORT_MAX_BYTES

# Room for the multipart envelope and the other form fields around the file.
ENVELOPE = 64 * 1024
IMPORT_BODY_CAP = IMPORT_MAX_BYTES + ENVELOPE
IMAGE_BODY_CAP = IMAGE_MAX_BYTES + ENVELOPE


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "too_large"


def check_body_size(request, cap: int, field: str = "file") -> None:
    """PayloadTooLarge when the request declares a body larger than ``cap`` bytes (read: nothing)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > cap:
        megabytes = max(1, round(cap / (1024 * 1024)))
        message = _("The upload is too large: at most %(n)s MB.") % {"n": megabytes}
        raise PayloadTooLarge(message, fields={field: [message]})

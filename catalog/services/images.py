"""Product images: validated with Pillow (type, size, dimensions), thumbnailed, ordered.

Images are product content: adding or removing one on an approved product sends it back to review.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Sequence

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from backoffice.audit import audit_record
from backoffice.authz import Actor, in_shop, require
from backoffice.errors import NotFound, ValidationFailed
from catalog.models import Product, ProductImage
from catalog.services.products import content_changed_back_to_review

MAX_BYTES = 5 * 1024 * 1024
MIN_SIDE = 100
MAX_SIDE = 8000
# At most 40 megapixels: decoding is what costs memory (8000×8000 RGBA is 256 MB), not the file size.
MAX_PIXELS = 40_000_000
MAX_IMAGES = 20
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
THUMB_SIZE = (320, 320)


def _bad(message: str):
    return ValidationFailed(message, fields={"image": [message]})


def validate_image(upload) -> tuple[str, int, int]:
    """(extension, width, height) of an acceptable upload, or a 400 with the reason."""
    if upload.size > MAX_BYTES:
        raise _bad(_("The image is larger than 5 MB."))
    upload.seek(0)
    too_many = _("The image has too many pixels: at most %(n)s megapixels.") % {"n": MAX_PIXELS // 1_000_000}
    try:
        with Image.open(upload) as img:  # reads the header only; Pillow refuses a decompression bomb here
            fmt = img.format
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise _bad(too_many)
            img.verify()
    except Image.DecompressionBombError:
        raise _bad(too_many)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _bad(_("This file is not an image we can read."))
    finally:
        upload.seek(0)
    if fmt not in FORMATS:
        raise _bad(_("Use JPEG, PNG or WebP."))
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise _bad(_("Images must be between %(lo)s and %(hi)s pixels per side.") % {"lo": MIN_SIDE, "hi": MAX_SIDE})
    return FORMATS[fmt], width, height


def _thumbnail(upload) -> bytes:
    upload.seek(0)
    with Image.open(upload) as img:
        img.draft("RGB", THUMB_SIZE)  # a JPEG decodes at a reduced size: less memory for a big photo
        img = img.convert("RGBA") if img.mode in ("P", "LA") else img
        img.thumbnail(THUMB_SIZE)
        out = io.BytesIO()
        if img.mode == "RGBA":
            img.save(out, "PNG", optimize=True)
        else:
            img.convert("RGB").save(out, "JPEG", quality=85)
    upload.seek(0)
    return out.getvalue()


def image_add(*, actor: Actor, product: Product, upload) -> ProductImage:
    require(actor, "catalog.edit", product)
    shop = actor.shop
    ext, width, height = validate_image(upload)
    thumb = _thumbnail(upload)
    stem = uuid.uuid4().hex
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=product.pk)
        require(actor, "catalog.edit", product)
        existing = ProductImage.objects.for_shop(shop).filter(product=product)
        if existing.count() >= MAX_IMAGES:
            raise _bad(_("A product has at most %(n)s images.") % {"n": MAX_IMAGES})
        position = (existing.aggregate(m=Max("position"))["m"] or 0) + 1
        image = ProductImage(shop=shop, product=product, position=position)
        upload.seek(0)
        image.image.save(f"{stem}.{ext}", ContentFile(upload.read()), save=False)
        thumb_ext = "png" if thumb[:4] == b"\x89PNG" else "jpg"
        image.thumbnail.save(f"{stem}_thumb.{thumb_ext}", ContentFile(thumb), save=False)
        image.width, image.height = width, height
        image.save()
        changes = {"image": [None, image.pk], "name": [None, os.path.basename(getattr(upload, "name", "") or "")]}
        if content_changed_back_to_review(product):
            product.save(update_fields=["status", "submitted_at", "updated_at"])
            changes["status"] = [Product.Status.APPROVED, Product.Status.PENDING_REVIEW]
        audit_record(shop=shop, actor=actor, action="product.image_added", target=product, changes=changes)
    return image


def image_remove(*, actor: Actor, image: ProductImage) -> None:
    require(actor, "catalog.edit", image)
    shop = actor.shop
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=image.product_id)
        require(actor, "catalog.edit", product)
        files = [f.name for f in (image.image, image.thumbnail) if f]
        storage = image.image.storage
        pk = image.pk
        image.delete()
        changes = {"image": [pk, None]}
        if content_changed_back_to_review(product):
            product.save(update_fields=["status", "submitted_at", "updated_at"])
            changes["status"] = [Product.Status.APPROVED, Product.Status.PENDING_REVIEW]
        audit_record(shop=shop, actor=actor, action="product.image_removed", target=product, changes=changes)
        transaction.on_commit(lambda: [storage.delete(name) for name in files])


def images_reorder(*, actor: Actor, product: Product, order: Sequence[int]) -> list[ProductImage]:
    """Put the product's images in this order (every image id exactly once). Order alone is not content."""
    require(actor, "catalog.edit", product)
    shop = actor.shop
    with transaction.atomic():
        product = Product.objects.for_shop(shop).select_for_update().get(pk=product.pk)
        require(actor, "catalog.edit", product)
        current = list(ProductImage.objects.for_shop(shop).filter(product=product).order_by("position", "id"))
        if sorted(order) != sorted(i.pk for i in current) or len(set(order)) != len(order):
            raise ValidationFailed(_("List every image of the product exactly once."),
                                   fields={"order": [_("Give every image id once.")]})  # fmt: skip
        before = [i.pk for i in current]
        by_id = {i.pk: i for i in current}
        for position, pk in enumerate(order, start=1):
            by_id[pk].position = position
        ProductImage.objects.for_shop(shop).bulk_update(list(by_id.values()), ["position"])
        audit_record(shop=shop, actor=actor, action="product.images_reordered", target=product,
                     changes={"order": [before, list(order)]})  # fmt: skip
    return sorted(by_id.values(), key=lambda i: i.position)


def image_move(*, actor: Actor, product: Product, image: ProductImage, up: bool) -> list[ProductImage]:
    """Move one image a place earlier (``up``) or later; at either end nothing changes."""
    require(actor, "catalog.edit", product)
    in_shop(actor, image)
    order = list(
        ProductImage.objects.for_shop(actor.shop).filter(product_id=product.pk).order_by("position", "id")
        .values_list("pk", flat=True)
    )  # fmt: skip
    if image.pk not in order:
        raise NotFound(_("No such image."))
    at = order.index(image.pk)
    to = at - 1 if up else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
    return images_reorder(actor=actor, product=product, order=order)

"""Photos: images are stored without their metadata.

A photo of a pothole taken with a phone carries EXIF metadata: where it was
taken (GPS, often the person's home), when, and with which device; XMP and
IPTC blocks and comments may carry more, such as the owner's name.  None of
it is needed to handle the case, and all of it is personal data (GDPR
article 5.1 c, data minimisation; R27, R30).  So every path that stores an
image (a handler's ``attach``, the intake's e-mail attachments, an import,
and the HTTP API through :meth:`klagomal.Klagomal.attach`) passes it
through :func:`clean_image` first: the metadata is removed and the pixels
are kept exactly, byte for byte of the compressed image data.

* **JPEG**: the APP1 (EXIF, XMP), APP13 (IPTC, Photoshop) and COM
  segments are dropped; the others (JFIF, the ICC colour profile in APP2,
  Adobe's APP14) and the image data stay as they were.
* **PNG**: the ``eXIf``, ``tEXt``, ``zTXt``, ``iTXt`` and ``tIME`` chunks
  are dropped.
* **WebP**: the ``EXIF`` and ``XMP `` chunks are dropped and the header's
  flags and size set to match.
* **GIF** holds no EXIF; its comment and application blocks other than the
  animation loop are dropped.
* **HEIC/HEIF** (an iPhone's photos) and **TIFF** keep their metadata inside the image structure,
  which klagomal does not rewrite: they are refused (a handler saves the
  picture as JPEG or PNG instead; a HEIC/HEIF picture with a reason of its
  own, saying how to send it as JPEG) and, arriving by e-mail, not kept as
  attachments (the raw message, which is the document as received, still
  holds them, as it holds what is over the intake's limits).

Pillow (a dependency) checks afterwards that the cleaned image opens and has
the same size, and refuses images larger than :data:`MAX_PIXELS` pixels
(a decompression bomb) or :data:`MAX_IMAGE_BYTES` bytes.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping

__all__ = [
    "CLEANED_TYPES",
    "HEIF_BRANDS",
    "HEIF_TYPES",
    "IMAGE_SIGNATURES",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "ImageRefused",
    "clean_image",
    "cleaned_image",
    "heif_refused",
    "image_type",
    "is_heif",
]

#: The largest image kept, in bytes: the intake's limit for one attachment.
MAX_IMAGE_BYTES = 10 * 1024 * 1024

#: The most pixels an image may have (a 40-megapixel photo is larger than
#: any phone's); more is refused before it is decoded.
MAX_PIXELS = 40_000_000

#: The image types klagomal stores, with their Pillow format name; their
#: metadata is removed (:func:`clean_image`).
CLEANED_TYPES: Mapping[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}

#: What the first bytes of each image type are.
IMAGE_SIGNATURES: Mapping[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}


#: The media types of HEIF pictures: HEIC (HEVC-coded, an iPhone's default)
#: and HEIF with its sequences.
HEIF_TYPES = frozenset(
    {"image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence", "image/x-heic", "image/x-heif"}
)

#: The ISO base media file ``ftyp`` brands of HEIF pictures.
HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


class ImageRefused(ValueError):
    """An image that cannot be stored without its metadata; the message is
    Swedish, a reason without the step (the caller names that)."""


def image_type(media_type: str | None, data: bytes) -> str | None:
    """The image type of a file: *media_type* when it is an image type,
    else the one its first bytes say; ``None`` for no image."""
    kind = (media_type or "").strip().lower()
    if kind.startswith("image/"):
        return kind
    for name, starts in IMAGE_SIGNATURES.items():
        if data.startswith(starts) and (name != "image/webp" or data[8:12] == b"WEBP"):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "image/heic" if data[8:12].startswith(b"he") else "image/heif"
    return None


def is_heif(media_type: str) -> bool:
    """Whether *media_type* is a HEIC or HEIF picture (an iPhone's photos)."""
    return media_type.strip().lower() in HEIF_TYPES


def heif_refused() -> ImageRefused:
    """Why a HEIC or HEIF picture is refused, and what to do instead."""
    from klagomal.core.i18n import _

    return ImageRefused(
        _(
            "bilder i formatet HEIC/HEIF (till exempel från en iPhone) tas inte emot, eftersom deras "
            "metadata (plats, tid, kamera) inte kan tas bort; spara eller dela bilden som JPEG "
            "(på iPhone: Inställningar > Kamera > Format > Mest kompatibel) och skicka den igen"
        )
    )


def clean_image(data: bytes, media_type: str) -> bytes:
    """*data*, an image of *media_type*, without its metadata and with its
    pixels as they were.

    :raises ImageRefused: for a type whose metadata klagomal does not
        remove, an image too large, or bytes that are not such an image.
    """
    from klagomal.core.formats import file_size
    from klagomal.core.i18n import _

    kind = media_type.strip().lower()
    if is_heif(kind):
        raise heif_refused()
    if kind not in CLEANED_TYPES:
        raise ImageRefused(
            _(
                "bilder av typen {kind} lagras inte, eftersom deras metadata (plats, tid, kamera) "
                "inte kan tas bort; spara bilden som JPEG eller PNG"
            ).format(kind=kind)
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(
            _("bilden är för stor: {size}, högst {limit}").format(
                size=file_size(len(data)), limit=file_size(MAX_IMAGE_BYTES)
            )
        )
    before = _size(data, kind)
    try:
        cleaned = {"image/jpeg": _jpeg, "image/png": _png, "image/webp": _webp, "image/gif": _gif}[kind](data)
    except (IndexError, struct.error, ValueError) as exc:
        if isinstance(exc, ImageRefused):
            raise
        raise ImageRefused(_("filen är ingen läsbar {kind}-bild").format(kind=CLEANED_TYPES[kind])) from None
    if _size(cleaned, kind) != before:  # pragma: no cover - the pixels are never touched
        raise ImageRefused(_("bilden ändrades när metadata togs bort"))
    return cleaned


def cleaned_image(content_type: str, data: bytes) -> bytes | None:
    """*data* as it is stored where nothing can be refused (an e-mail's
    attachment, an import): a picture without its metadata, ``None`` for a
    picture whose metadata cannot be removed; anything else as it is."""
    image = image_type(content_type, data)
    if image is None:
        return data
    try:
        return clean_image(data, image)
    except ImageRefused:
        return None


def _size(data: bytes, kind: str) -> tuple[int, int]:
    """The image's size, once Pillow has opened and decoded it; refuses what
    it cannot read and what has too many pixels."""
    import warnings

    from PIL import Image

    from klagomal.core.i18n import _

    name = CLEANED_TYPES[kind]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[name]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageRefused(
                        _("bilden har för många bildpunkter: {w} × {h}, högst {n} miljoner").format(
                            w=width, h=height, n=MAX_PIXELS // 1_000_000
                        )
                    )
                image.load()
                return width, height
    except ImageRefused:
        raise
    except Exception:
        raise ImageRefused(_("filen är ingen läsbar {kind}-bild").format(kind=name)) from None


# -- JPEG: segments ------------------------------------------------------------------------------

#: APP1 (EXIF, XMP), APP13 (IPTC, Photoshop), COM.
_JPEG_DROPPED = {0xE1, 0xED, 0xFE}


def _jpeg(data: bytes) -> bytes:
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("no JPEG")
    out = [b"\xff\xd8"]
    pos = 2
    while True:
        while data[pos] == 0xFF and data[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
        if data[pos] != 0xFF:
            raise ValueError("no marker")
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the image data and the rest, as they are
            out.append(data[pos:])
            return b"".join(out)
        if marker == 0xD9 or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[pos : pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        if len(segment) != 2 + length:
            raise ValueError("short segment")
        if marker not in _JPEG_DROPPED:
            out.append(segment)
        pos += 2 + length


# -- PNG: chunks ---------------------------------------------------------------------------------

_PNG_DROPPED = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _png(data: bytes) -> bytes:
    signature = b"\x89PNG\r\n\x1a\n"
    if not data.startswith(signature):
        raise ValueError("no PNG")
    out = [signature]
    pos = len(signature)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos : pos + 12 + length]
        if len(chunk) != 12 + length:
            raise ValueError("short chunk")
        if kind not in _PNG_DROPPED:
            out.append(chunk)
        pos += 12 + length
        if kind == b"IEND":
            break
    return b"".join(out)


# -- WebP: RIFF chunks ---------------------------------------------------------------------------


def _webp(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("no WebP")
    chunks: list[bytearray] = []
    pos = 12
    end = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        padded = length + (length & 1)
        chunk = bytearray(data[pos : pos + 8 + padded])
        if len(chunk) < 8 + length:
            raise ValueError("short chunk")
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(chunk)
        pos += 8 + padded
    for chunk in chunks:
        if chunk[:4] == b"VP8X":
            chunk[8] &= ~0x0C & 0xFF  # the EXIF (0x08) and XMP (0x04) flags
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)


# -- GIF: blocks ---------------------------------------------------------------------------------


def _gif_sub_blocks(data: bytes, pos: int) -> int:
    """The position after the data sub-blocks starting at *pos*."""
    while True:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos


def _gif(data: bytes) -> bytes:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        raise ValueError("no GIF")
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    out = [data[:pos]]
    while True:
        block = data[pos]
        if block == 0x3B:  # trailer
            out.append(b"\x3b")
            return b"".join(out)
        if block == 0x2C:  # an image: descriptor, local colour table, LZW data
            local = data[pos + 9]
            start = pos
            pos += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            pos = _gif_sub_blocks(data, pos + 1)  # after the LZW minimum code size
            out.append(data[start:pos])
        elif block == 0x21:  # an extension
            label = data[pos + 1]
            start = pos
            end = _gif_sub_blocks(data, pos + 2)
            keep = label in (0xF9, 0x01)  # graphic control, plain text
            if label == 0xFF:  # application: keep only the animation loop
                keep = data[pos + 3 : pos + 14] in (b"NETSCAPE2.0", b"ANIMEXTS1.0")
            if keep:
                out.append(data[start:end])
            pos = end
        else:
            raise ValueError("unknown block")

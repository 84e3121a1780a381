"""Photos are stored without their metadata (issue 21, item 5; R27, R30, GDPR
article 5.1 c): a JPEG, PNG or WebP carrying EXIF with GPS, the device and
the time, made here with Pillow, is stored by every path that stores an
image (a handler's ``attach``, an e-mail's attachments, an import) with no
EXIF left, and still opens with the same size and the same pixels.  Types
whose metadata klagomal cannot remove are refused, writing nothing.

The paths are read from the code: every place in src/ that builds a
stored attachment must pass the bytes through klagomal.core.photos.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import klagomal
from klagomal import FixedClock, Klagomal
from klagomal.core.errors import InvalidInputError
from klagomal.core.photos import HEIF_BRANDS, MAX_PIXELS, ImageRefused, clean_image, cleaned_image, image_type
from klagomal.storage import tables
from klagomal.testing import register

#: What the EXIF says: GPS at Stortorget, the phone, the time.
SECRET = (b"Fotofon X9", b"2026:03:01 12:34:56")


def photo(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """An image in *fmt* with EXIF: GPS position, device and time."""
    image = Image.new("RGB", size)
    image.putdata(
        [((x * 7) % 256, (y * 5) % 256, (x + y) % 256) for y in range(size[1]) for x in range(size[0])]
    )
    exif = Image.Exif()
    exif[0x010F] = "Fotofon"  # Make
    exif[0x0110] = "Fotofon X9"  # Model
    exif[0x0132] = "2026:03:01 12:34:56"  # DateTime
    exif[0x8825] = {1: "N", 2: (59.0, 19.0, 45.48), 3: "E", 4: (18.0, 4.0, 6.96)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, fmt, exif=exif, **({"lossless": True} if fmt == "WEBP" else {}))
    return out.getvalue()


FORMATS = {
    "JPEG": ("image/jpeg", "gatan.jpg"),
    "PNG": ("image/png", "gatan.png"),
    "WEBP": ("image/webp", "gatan.webp"),
}


def assert_clean(stored: bytes, original: bytes) -> None:
    for secret in SECRET:
        assert secret in original  # the test image does carry it
        assert secret not in stored
    assert b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as after, Image.open(io.BytesIO(original)) as before:
        assert dict(after.getexif()) == {}
        assert after.size == before.size
        assert after.tobytes() == before.tobytes()  # the pixels as they were


@pytest.fixture
def k(new_database: Callable[[], str], clock: FixedClock) -> Iterator[Klagomal]:
    with Klagomal(new_database(), clock=clock, load_entrypoints=False, user="system") as instance:
        instance.init()
        yield instance


def _stored(k: Klagomal, ref: str | None = None) -> list[tuple[str | None, int, bytes | None]]:
    with k.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        query = sa.select(tables.attachments).order_by(tables.attachments.c.id)
        if ref is not None:
            query = query.where(tables.attachments.c.reference == ref)
        return [(r.filename, r.size, r.data) for r in conn.execute(query)]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_an_attached_photo_is_stored_without_exif_and_with_its_pixels(k: Klagomal, fmt: str) -> None:
    media_type, name = FORMATS[fmt]
    original = photo(fmt)
    ref = register(k).reference
    k.attach(ref, original, filename=name, media_type=media_type)
    [(filename, size, data)] = _stored(k, ref)
    assert filename == name
    assert data is not None
    assert size == len(data)
    assert_clean(data, original)


def test_a_photo_in_an_email_is_stored_without_exif(k: Klagomal) -> None:
    original = photo("JPEG")
    message = EmailMessage()
    message["From"] = "Eva Exempel <eva@example.se>"
    message["To"] = "synpunkter@exempelkommun.se"
    message["Subject"] = "Klagomål: trasig gatlampa"
    message["Message-ID"] = "<foto-1@example.se>"
    message["Date"] = "Mon, 02 Mar 2026 09:00:00 +0100"
    message.set_content("Gatlampan på Storgatan är trasig, se bilden.")
    message.add_attachment(original, maintype="image", subtype="jpeg", filename="lampan.jpg")
    outcome = k.receive_email(message.as_bytes())
    assert outcome.reference is not None, outcome
    [(filename, _size, data)] = _stored(k, outcome.reference)
    assert filename == "lampan.jpg"
    assert data is not None
    assert_clean(data, original)


def test_an_imported_photo_is_stored_without_exif(k: Klagomal, clock: FixedClock, tmp_path: Path) -> None:
    original = photo("PNG")
    with Klagomal(
        f"sqlite:///{tmp_path / 'source.db'}", clock=clock, load_entrypoints=False, user="system"
    ) as source:
        source.init()
        ref = register(source).reference
        source.attach(ref, photo("PNG"), filename="gatan.png")
        exported = source.export()
    # An export from before photos were cleaned: the stored bytes still carry EXIF.
    [received] = [m for m in exported["received"] if m["reference"] == ref]
    received["attachments"][0]["data"] = base64.b64encode(original).decode("ascii")
    received["attachments"][0]["size"] = len(original)
    assert k.import_(exported) == 1
    [(_name, size, data)] = _stored(k, ref)
    assert data is not None
    assert size == len(data)
    assert_clean(data, original)


@pytest.mark.parametrize(
    ("data", "media_type", "reason"),
    [
        (b"II*\x00" + bytes(60), "image/tiff", "typen image/tiff, som inte kan bifogas"),
        (bytes(4) + b"ftypheic" + bytes(40), "image/heic", "formatet HEIC/HEIF"),
        (
            b"\xff\xd8\xff\xe0 inte en bild",
            "image/jpeg",
            "bilden gatan.jpg kan inte bifogas: filen är ingen läsbar JPEG-bild",
        ),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp", "filen är ingen läsbar WEBP-bild"),
    ],
)
def test_an_image_that_cannot_be_cleaned_is_refused_and_nothing_is_written(
    k: Klagomal, data: bytes, media_type: str, reason: str
) -> None:
    ref = register(k).reference
    before = len(k.history(ref))
    with pytest.raises(InvalidInputError) as refused:
        k.attach(ref, data, filename="gatan.jpg", media_type=media_type)
    assert str(refused.value).startswith(f"Ärende {ref}, steg 'bifoga handling': ")
    assert reason in str(refused.value)
    assert len(k.history(ref)) == before
    assert _stored(k, ref) == []


@pytest.mark.parametrize("brand", sorted(HEIF_BRANDS))
@pytest.mark.parametrize(
    ("filename", "media_type"),
    [
        ("IMG_0001.HEIC", None),
        ("IMG_0001.heif", "image/heif"),
        ("gatan.jpg", "image/jpeg"),  # an iPhone's picture under another name: its bytes tell
        ("gatan", "application/octet-stream"),
    ],
)
def test_a_heic_or_heif_picture_is_refused_with_a_reason_of_its_own(
    k: Klagomal, brand: bytes, filename: str, media_type: str | None
) -> None:
    ref = register(k).reference
    before = len(k.history(ref))
    data = b"\x00\x00\x00\x18ftyp" + brand + bytes(4) + b"mif1heic" + bytes(64)
    with pytest.raises(InvalidInputError) as refused:
        k.attach(ref, data, filename=filename, media_type=media_type)
    message = str(refused.value)
    assert message.startswith(f"Ärende {ref}, steg 'bifoga handling': bilden {filename} kan inte bifogas: ")
    assert "HEIC/HEIF" in message
    assert "JPEG" in message
    assert len(k.history(ref)) == before
    assert _stored(k, ref) == []
    # The same reason from the photos' own check, and no attachment kept from an e-mail.
    with pytest.raises(ImageRefused, match="HEIC/HEIF"):
        clean_image(data, image_type(None, data) or "")
    assert cleaned_image("application/octet-stream", data) is None


def test_an_image_with_too_many_pixels_is_refused_before_it_is_decoded() -> None:
    side = int(MAX_PIXELS**0.5) + 10
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    with pytest.raises(ValueError, match="för många bildpunkter"):
        clean_image(out.getvalue(), "image/png")


def test_a_gif_keeps_its_frames_and_loses_its_comment() -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], loop=0, comment=b"hemma hos Eva")
    original = out.getvalue()
    cleaned = clean_image(original, "image/gif")
    assert b"hemma hos Eva" in original
    assert b"hemma hos Eva" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.n_frames == 2
        assert image.size == (16, 16)
    with Image.open(io.BytesIO(original)) as image:
        assert image.n_frames == 2


#: Each place in src/ that builds a stored attachment with its bytes, and
#: what it cleans them with.
CLEANERS = ("clean_image", "cleaned_image", "check_document")


def test_every_path_that_stores_an_attachment_cleans_images() -> None:
    root = Path(klagomal.__file__).parent
    builders = {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in root.rglob("*.py")
        if re.search(r"\bStoredAttachment\(", path.read_text(encoding="utf-8"))
        and path.name != "records.py"  # the class itself
    }
    # Reading stored rows back (storage) builds them from what was stored: no new bytes.
    readers = {name for name in builders if name.startswith("storage/")}
    writers = set(builders) - readers
    assert writers == {"cases/service.py", "intake/service.py", "intake/importing.py"}, writers
    for name in writers:
        assert any(cleaner in builders[name] for cleaner in CLEANERS), name


@settings(max_examples=40, deadline=None)
@given(
    fmt=st.sampled_from(sorted(FORMATS)),
    width=st.integers(min_value=1, max_value=80),
    height=st.integers(min_value=1, max_value=80),
    comment=st.binary(min_size=1, max_size=200),
)
def test_any_photo_is_cleaned_to_the_same_pixels_whatever_its_size_and_metadata(
    fmt: str, width: int, height: int, comment: bytes
) -> None:
    original = photo(fmt, (width, height))
    cleaned = clean_image(original, FORMATS[fmt][0])
    assert_clean(cleaned, original)
    assert clean_image(cleaned, FORMATS[fmt][0]) == cleaned  # cleaning twice changes nothing
    if fmt == "JPEG":
        # A comment segment (COM) goes too.
        with_comment = (
            original[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + original[2:]
        )
        assert clean_image(with_comment, "image/jpeg") == cleaned

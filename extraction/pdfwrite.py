"""A minimal PDF writer: one page of lines in Courier with a Helvetica-Bold title, text layer only."""

from __future__ import annotations

from collections.abc import Sequence


def _escape(text: str) -> bytes:
    # WinAnsiEncoding is cp1252: it has £ € ¥ and the accents of Western European languages
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def text_pdf(
    lines: Sequence[tuple[str, str]], *, width_chars: int = 40, font_size: float = 9.0
) -> bytes:
    """Return a one-page PDF; each line is (style, text), style "title", "center" or "left"."""
    char_w = font_size * 0.6  # every Courier glyph is 600/1000 em wide
    margin = 14.0
    page_w = width_chars * char_w + 2 * margin
    leading = font_size * 1.45
    page_h = len(lines) * leading + 2 * margin + 10
    ops = []
    y = page_h - margin - font_size
    for style, text in lines:
        if style == "title":
            size = font_size * 1.5
            x = max(margin, (page_w - len(text) * size * 0.6) / 2)
            ops.append(b"BT /F2 %.1f Tf %.2f %.2f Td (%s) Tj ET" % (size, x, y, _escape(text)))
            y -= leading * 1.4
            continue
        x = margin + (max(0, (width_chars - len(text)) // 2) * char_w if style == "center" else 0)
        ops.append(b"BT /F1 %.1f Tf %.2f %.2f Td (%s) Tj ET" % (font_size, x, y, _escape(text)))
        y -= leading
    content = b"\n".join(ops)
    return build_pdf(content, page_w, page_h)


def build_pdf(content: bytes, page_w: float, page_h: float) -> bytes:
    """Return the bytes of a one-page PDF drawing `content` with fonts F1 (Courier), F2 (Helvetica-Bold)."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>" % (page_w, page_h),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        font % b"Courier",
        font % b"Helvetica-Bold",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)

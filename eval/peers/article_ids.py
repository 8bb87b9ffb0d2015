"""The service's document and article ids, for scripts outside the service (the peer benchmark,
the ranker's experiments). Standard library only, so that any of their environments can import it."""
import re
import unicodedata


def strip_diacritics(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def document_slug(so_hieu: str) -> str:
    """"52/2014/QH13" → "52-2014-qh13": the document part of an article id ("52-2014-qh13.dieu-8")."""
    slug = re.sub(r"[^a-z0-9]+", "-", strip_diacritics(so_hieu).lower())
    return slug.strip("-")

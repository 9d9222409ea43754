"""Reading receipts: text from PDFs and images (OCR), and the fields a claim needs."""

from extraction.extract import extract
from extraction.types import Extraction, ExtractionError, Found, Limits

__all__ = ["Extraction", "ExtractionError", "Found", "Limits", "extract"]

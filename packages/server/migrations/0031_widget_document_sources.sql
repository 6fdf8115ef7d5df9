-- Widget documents keep their original format (PDFs and web pages are stored as their extracted text, chunked as
-- plain text and markdown) and, for pages fetched by URL, the address they came from.
ALTER TABLE widget_documents DROP CONSTRAINT widget_documents_format_check;
ALTER TABLE widget_documents ADD CONSTRAINT widget_documents_format_check
  CHECK (format IN ('text', 'markdown', 'html', 'pdf'));
ALTER TABLE widget_documents ADD COLUMN source_url text
  CHECK (source_url IS NULL OR (length(source_url) <= 2048 AND source_url ~ '^https?://'));

"""Reading extracts: files and formats, strict CSV checks, mapping local codes, counting (in memory or streamed)."""

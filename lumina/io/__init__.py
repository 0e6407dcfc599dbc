"""Files in and out: other people's data and documents coming in, datasets going out.

readers.py (bounded streaming readers: JSONL, JSON, CSV, Parquet, datasets folders), rows.py (a
row -> sample / seed / prompt / eval item by its columns), importers.py (all-or-nothing imports
into a project), documents.py (.txt/.md/.pdf -> passages), uploads.py (browser uploads, imported by
the `import` job), textfiles.py (decoding, size limits, safe folder walks), formats.py (messages
rows -> JSONL / Parquet / datasets folder / ShareGPT).
"""

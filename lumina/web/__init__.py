"""What the Streamlit pages need from the library, with no Streamlit import here.

serving.py (how the app is served: loopback, OIDC or a trusted header, `lumina serve`),
safe_markdown.py (teacher and imported text -> inert Markdown), queries.py (the reads pages make:
counts, paging, summaries; their SQL is in store/ui.py).
"""

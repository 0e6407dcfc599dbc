"""The taxonomy: the tree of topics (with task types, difficulties, personas) generation walks.

tree.py (the YAML tree and the weighted plan), ops.py (pure edits with the loader's rules),
edit.py (edits of a project's stored tree, one transaction each), outline.py (Markdown lists,
headings, tables of contents -> tree), expand.py (teacher-proposed sub-topics and the `expand` job).
"""

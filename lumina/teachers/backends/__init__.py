"""The built-in teacher backends, one module each, registered in ``lumina.teachers.spec.BACKENDS``.

Each module implements the Teacher protocol (``teachers/base.py``) and ends by declaring its
``Backend``: name, factory, whether it is remote, the options it takes from a project's
settings, how its spec is parsed. A plugin backend does the same in its own module.
"""

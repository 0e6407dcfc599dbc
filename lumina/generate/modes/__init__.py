"""The built-in generation modes: one module each, registered in ``lumina.generate.MODES`` on import."""

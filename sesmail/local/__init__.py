"""Local mode: the whole pipeline on an embedded AWS emulator (moto), run by the real handlers."""

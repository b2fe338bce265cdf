"""sesmail: the everyday tools around sesmailengine.

- `sesmail` the command (see `sesmail --help`),
- local mode: the whole pipeline on an embedded AWS emulator,
- `EmailClient`, the typed producer library.
"""

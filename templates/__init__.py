"""The starter templates, shipped as the package data of `sesmailengine.templates`.

A regular package (not a namespace one) so `importlib.resources` finds the folder both in the
wheel and in an editable install. Files whose path starts with `__` are never uploaded."""

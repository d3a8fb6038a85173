"""The common room: what every other room may use and which imports no other room.

- ``errors``: the error types whose message is meant for a person (one line, with an exit code);
- ``fsutil``: atomic writes and the home's private file modes;
- ``text``: untrusted text made safe to render (control characters, markup, CSV formulas);

It may import only the standard library and numpy.
"""

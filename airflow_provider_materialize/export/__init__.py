"""The export, shared by both modes: the request, the output contract and the result.

``client/`` streams the rows through the worker; ``native/`` lets Materialize write the files.
"""

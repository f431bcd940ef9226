"""Importers: bring another exchange server's data into this one (``ngshare import ...``).

Each source has a package of its own; they write through the exchange's
models and store functions, in one transaction per course.
"""

"""The operations report: aggregated figures of the review, as HTML with charts and CSV tables.

Matplotlib is imported only inside `charts`, which only report commands load, so `cardbot run`
and `cardbot --help` never import it.
"""

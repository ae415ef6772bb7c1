"""What the study shows: `plots` draws every figure, `experiments` makes the table of every
model, and `report/` assembles the report from Jinja2 templates.

May use `analysis`, `study` and `core`; nothing below imports it.
"""

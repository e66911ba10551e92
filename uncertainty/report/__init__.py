"""The report layer: the section records and their templates (templates/), the page, the figures
(plots/, one module per family) and the README's answer table. It only reads what the compute
stages wrote.

May import every layer below it; nothing in the library imports it (the stages and tools do).
"""

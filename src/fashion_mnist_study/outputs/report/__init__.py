"""The study's report, Markdown and one self-contained HTML file.

`inputs` lists the files and settings the report is made of (and so the report rule's inputs);
`numbers` gathers this run's numbers once; `wording` composes the sentences that state them;
`tables` formats the tables; `sections` builds each section from those; `document` renders
the templates of `templates/` and writes the files. Markup lives in the templates only.
"""

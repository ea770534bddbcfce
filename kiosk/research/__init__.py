"""Research, the Flask side: the kiosk's two questions, and the coordinators' dashboard with its
charts and downloads. The rules, the figures and their suppression are in
`kiosk.services.research` (no Flask); here they are asked for, put into words in the reader's
language, drawn and written to files.

    kiosk screen  -> survey.py     blueprint "kiosk_survey" (/kiosk/vragen): two optional,
                                    anonymous questions and the "I came for this" taps
    coordinator   -> dashboard.py  blueprint "research" (/admin/research): filters, charts,
                                    tables, CSV/XLSX links
                         tables.py  the report as tables with labels (one set for everything)
                         charts.py  those tables as SVG shapes (templates/research/)
                         export.py  those tables as CSV or XLSX; `export_response`, the download
                                    of the dashboard and of the API (kiosk/views/api/research.py)

The two blueprints are doors: neither imports the other, and the API imports only export.py.
"""

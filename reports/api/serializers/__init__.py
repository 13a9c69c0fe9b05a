"""Reports API serializers, one module per resource: the report filters (input), the practice report
and export jobs (output), and the outcome definitions.

The practice report is turned into plain data once (`practice_report_data.practice_report_data`)
and described by the output serializers of `practice_report`, so the schema says exactly what the
JSON holds.

Importers name the module: this package re-exports nothing.
"""

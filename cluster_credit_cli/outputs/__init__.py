"""What a round writes: the safe workbook writer, the rating/check workbooks and JSON, templates, the summary."""

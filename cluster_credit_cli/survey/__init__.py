"""Survey statistics: XLSForm codebooks, relevance, coding and tables, the survey workbook, draft codebooks."""

"""Reading what arrives: preflight of hostile files, xlsx/csv reading, credit codes, finding the exports."""

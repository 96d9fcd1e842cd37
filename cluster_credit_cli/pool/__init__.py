"""The pool after the rating: loan ledger, guarantee fund, exposure, concentration, early warnings."""

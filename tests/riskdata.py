"""Loan books shaped like POOL_CONTRACT's Book.loans, made up for the risk tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

COLUMNS = ["loan_no", "code", "name", "contract_amount", "outstanding", "disbursed", "maturity", "dpd",
           "classification", "status", "paid_amount", "paid_date", "recovered_amount", "recovered_date",
           "run_id", "grade", "total", "quota", "sector"]
GRADES = ["AAA", "AA", "A", "BBB"]
CAPS = {"AAA": 500.0, "AA": 300.0, "A": 200.0, "BBB": 100.0}


def loan(i: int, *, grade="A", outstanding=100.0, contract=None, quota=None, dpd=0, status="正常",
         classification="正常", sector="模具", paid=0.0, paid_date=None, recovered=0.0,
         disbursed=dt.date(2026, 1, 15), code=None) -> dict:
    return {"loan_no": f"L{i:05d}", "code": code or f"9144190000000{i:05d}", "name": f"企业{i}",
            "contract_amount": contract if contract is not None else outstanding, "outstanding": outstanding,
            "disbursed": disbursed, "maturity": dt.date(2027, 1, 15), "dpd": dpd,
            "classification": classification, "status": status, "paid_amount": paid, "paid_date": paid_date,
            "recovered_amount": recovered, "recovered_date": None, "run_id": 1, "grade": grade, "total": 75.0,
            "quota": quota if quota is not None else (contract if contract is not None else outstanding),
            "sector": sector}


def book(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def random_book(n: int, seed: int = 7, sectors=("模具", "注塑", "五金")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        g = GRADES[int(rng.integers(0, len(GRADES)))]
        amount = float(np.round(rng.uniform(0.1, 1.0) * CAPS[g], 1))
        rows.append(loan(i, grade=g, outstanding=amount, quota=CAPS[g], sector=sectors[i % len(sectors)]))
    return book(rows)

#!/usr/bin/env bash
# Renders the README pictures from the real output of the sample round.
# Needs LibreOffice (soffice), poppler (pdftoppm) and Pillow: apt-get install libreoffice-calc-nogui
# fonts-noto-cjk poppler-utils; pip install pillow.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
ccredit score sample_data/申报材料汇总.xlsx --as-of 2026-11-30 --out "$out/ratings.xlsx" -q || true
(cd "$out" && soffice --headless --convert-to pdf ratings.xlsx >/dev/null 2>&1 \
  && pdftoppm -png -r 200 -f 1 -l 1 ratings.pdf p1 && pdftoppm -png -r 110 -f 2 -l 2 ratings.pdf p2)
/usr/bin/env python3 - "$out" <<'PY'
import sys
from PIL import Image
d = sys.argv[1]
im = Image.open(f"{d}/p1-001.png"); w, h = im.size
im.crop((int(w * .06), int(h * .055), int(w * .94), int(h * .40))).save("docs/img/ratings.png", optimize=True)
im = Image.open(f"{d}/p2-002.png"); w, h = im.size
im.crop((int(w * .07), int(h * .05), int(w * .93), int(h * .60))).save("docs/img/grades.png", optimize=True)
PY

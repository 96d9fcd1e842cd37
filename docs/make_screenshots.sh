#!/usr/bin/env bash
# Renders the README pictures from the real output of the sample round, printed as a person
# would print it (LibreOffice headless → PDF → PNG).
# Needs LibreOffice (soffice), poppler (pdftoppm, pdftotext) and the fonts LibreOffice prints the
# workbooks with: apt-get install libreoffice-calc-nogui fonts-noto-cjk fonts-crosextra-carlito
# poppler-utils. Pillow comes with ccredit (fpdf2 needs it). Run from an environment where ccredit
# is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
python3 sample_data/make_sample.py --out "$out/round" >/dev/null
ccredit score "$out/round/申报材料汇总.xlsx" --as-of 2026-11-30 --out "$out/ratings.xlsx" --json "$out/result.json" \
  --db "$out/reg.db" -q || true
ccredit check "$out/round/申报材料汇总.xlsx" --as-of 2026-11-30 --out "$out/check.xlsx" -q || true
first=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['enterprises'][0]['code'])" "$out/result.json")
vetoed=$(python3 -c "import json,sys; print(next(e['code'] for e in json.load(open(sys.argv[1]))['enterprises']
                     if any(s.startswith('veto') for s in e['status'])))" "$out/result.json")
ccredit report "$out/result.json" --codes "$first,$vetoed" --db "$out/reg.db" --out "$out/report.pdf" -q
(cd "$out" && soffice -env:UserInstallation=file://"$out/lo" --headless --convert-to pdf ratings.xlsx check.xlsx \
  >/dev/null 2>&1)
# The page of a sheet: the first page whose header (title · sheet · as-of date) names it.
page_of() {
  local pdf=$1 sheet=$2 n
  n=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
  for ((i = 1; i <= n; i++)); do
    if pdftotext -layout -f "$i" -l "$i" "$pdf" - | head -1 | grep -q "  $sheet  "; then echo "$i"; return; fi
  done
  echo 1
}
cd "$out"
pdftoppm -png -r 200 -f 1 -l 1 ratings.pdf p1
g=$(page_of ratings.pdf 等级分布); pdftoppm -png -r 110 -f "$g" -l "$g" ratings.pdf p2
pdftoppm -png -r 70 -f 1 -l 1 ratings.pdf page-ratings
pdftoppm -png -r 70 -f 1 -l 1 check.pdf page-check
pdftoppm -png -r 70 -f 2 -l 2 report.pdf page-report
cd - >/dev/null
python3 - "$out" "$g" <<'PY'
import glob
import sys

from PIL import Image

d, g = sys.argv[1], int(sys.argv[2])
one = lambda pattern: Image.open(sorted(glob.glob(f"{d}/{pattern}"))[0])
im = one("p1-*.png"); w, h = im.size
im.crop((int(w * .02), int(h * .08), int(w * .98), int(h * .55))).save("docs/img/ratings.png", optimize=True)
im = one("p2-*.png"); w, h = im.size
im.crop((int(w * .03), int(h * .06), int(w * .97), int(h * .62))).save("docs/img/grades.png", optimize=True)
# Whole printed pages, with a thin frame so the paper's edge shows on a white page.
for name in ("ratings", "check", "report"):
    im = one(f"page-{name}-*.png").convert("RGB")
    framed = Image.new("RGB", (im.width + 4, im.height + 4), "#999999")
    framed.paste(im, (2, 2))
    framed.save(f"docs/img/page-{name}.png", optimize=True)
PY
echo "docs/img updated from $out"

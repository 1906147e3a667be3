#!/usr/bin/env bash
# Build the documentation offline into docs/_build/html. Warnings are errors (-W, --keep-going reports them
# all) and every internal reference must resolve (-n: pages, headings, API names, images, downloads).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf _build/html _build/doctrees
python3 -m sphinx -b html -n -W --keep-going -q -d _build/doctrees . _build/html "$@"
echo "built $(pwd)/_build/html/index.html"

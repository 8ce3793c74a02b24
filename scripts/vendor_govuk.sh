#!/usr/bin/env bash
# Re-vendor the GOV.UK Design System's built assets into src/eqia/web/static/govuk/, so that
# `eqia serve` works with no network. Needs node and npm (run by a maintainer, not by users).
#
# The stylesheet is compiled from govuk-frontend's Sass with Arial as the font: the GDS
# Transport font and the crown are for services on GOV.UK only, and a council's or an NHS
# body's service is not one (GOV.UK Design System, "Typeface" and "Header" guidance). So no
# font files and no crown images are shipped. Keep VERSION in step with the Jinja macros
# (govuk-frontend-jinja 4.1 ports govuk-frontend 6.3).
set -euo pipefail
VERSION=6.3.0
SASS=1.93.2
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/src/eqia/web/static/govuk"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts "govuk-frontend@$VERSION" "sass@$SASS" >/dev/null
cat > entry.scss <<'SCSS'
@use "govuk-frontend/dist/govuk/index" with ($govuk-font-family: (arial, sans-serif));
SCSS
npx sass --load-path=node_modules --style=compressed --no-source-map --quiet-deps \
  entry.scss govuk-frontend.min.css
rm -rf "$dest"
mkdir -p "$dest"
cp govuk-frontend.min.css "$dest/"
cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js "$dest/"
cat > "$dest/README.md" <<TXT
# GOV.UK Frontend $VERSION (vendored)

Built assets of [govuk-frontend](https://www.npmjs.com/package/govuk-frontend) $VERSION, from
the npm registry, by \`scripts/vendor_govuk.sh\`: the stylesheet compiled with Arial as the
font (no GDS Transport font or crown, which are for GOV.UK services only) and the JavaScript
as published. Do not edit: run the script again.

Licence: the code is released under the MIT License; the documentation is Crown copyright,
available under the Open Government Licence v3.0 (govuk-frontend's README).
TXT
echo "Vendored govuk-frontend $VERSION into $dest"

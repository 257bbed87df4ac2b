#!/usr/bin/env bash
# Refresh the translation catalogs after adding or changing UI strings:
#   1. makemessages: pull every {% trans %}/gettext string into locale/<lang>/LC_MESSAGES/django.po
#      for zh_Hans and ru (existing translations are kept; new strings arrive empty, changed ones fuzzy);
#   2. compilemessages: build the django.mo files, which are committed (running the app needs no gettext).
# Then translate the empty/fuzzy entries (drop the "#, fuzzy" line), run this again to recompile, and
# commit both .po and .mo. tests/test_i18n.py fails while any entry is untranslated, fuzzy or not compiled.
#
# Installs Debian's gettext first when it is missing and we are root (CI, a fresh machine).
# Extra arguments go to makemessages, e.g. `scripts/i18n.sh --ignore=someapp` to leave an app out for now.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCALES=(zh_Hans ru)
IGNORES=(--ignore=.venv --ignore=.tmp --ignore=node_modules --ignore='tests/*')
PY=${PY:-.venv/bin/python}

missing=()
for tool in xgettext msgmerge msgfmt; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing gettext (missing ${missing[*]})" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq gettext >&2
  else
    echo "missing ${missing[*]}: install gettext (sudo apt-get install -y gettext)" >&2
    exit 1
  fi
fi

[ -x "$PY" ] || make install >&2

locale_args=()
for l in "${LOCALES[@]}"; do locale_args+=(-l "$l"); done

"$PY" manage.py makemessages "${locale_args[@]}" "${IGNORES[@]}" "$@"
"$PY" manage.py compilemessages --ignore=.venv --ignore=.tmp

status=0
for l in "${LOCALES[@]}"; do
  po="locale/$l/LC_MESSAGES/django.po"
  printf '%s: ' "$po"
  msgfmt --check-format --check-header --statistics -o /dev/null "$po" 2>&1 || status=1
done
exit $status

#!/usr/bin/env bash
# Install the system packages the book's browser test (and, with --tex, the
# PDF build) needs, from Debian only: no downloaded browser builds.
#
#   tools/install_browser.sh          # chromium + chromium-driver (~120 MB)
#   tools/install_browser.sh --tex    # also TeX Live for `jupyter-book build . --builder pdflatex` (~85 MB)
#
# MathJax for the offline HTML book comes from npm, not from here: `npm ci`.
# The Python side (selenium) is in pyproject.toml's dev extra.
set -euo pipefail

want_tex=0
for arg in "$@"; do
  case "$arg" in
    --tex) want_tex=1 ;;
    *) echo "usage: $0 [--tex]" >&2; exit 2 ;;
  esac
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

browser=()
command -v chromium >/dev/null 2>&1 || browser+=(chromium)
command -v chromedriver >/dev/null 2>&1 || browser+=(chromium-driver)
tex=()
if [ "$want_tex" = 1 ]; then
  command -v xelatex >/dev/null 2>&1 || tex+=(texlive-xetex texlive-latex-recommended \
    texlive-latex-extra texlive-fonts-recommended fonts-freefont-otf tex-gyre)
  command -v latexmk >/dev/null 2>&1 || tex+=(latexmk)
fi

if [ "${#browser[@]}" -eq 0 ] && [ "${#tex[@]}" -eq 0 ]; then
  echo "install_browser: nothing to install"
  exit 0
fi
$SUDO apt-get update -qq
if [ "${#browser[@]}" -gt 0 ]; then
  echo "install_browser: apt-get install ${browser[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${browser[@]}" >/dev/null
fi
if [ "${#tex[@]}" -gt 0 ]; then
  echo "install_browser: apt-get install --no-install-recommends ${tex[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    "${tex[@]}" >/dev/null
fi
chromium --version 2>/dev/null | head -1 || true
